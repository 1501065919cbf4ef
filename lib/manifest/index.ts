import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';

/** The manifest format (modeldao.manifest/v1): the set of files a model version consists of. */

export const MANIFEST_SCHEMA = 'modeldao.manifest/v1';
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

const hex64 = /^[0-9a-f]{64}$/;
const slug = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Why a path is not acceptable, or null. Paths are relative, '/'-separated, portable. */
export function pathProblem(p: string): string | null {
  if (p.length === 0) return 'path is empty';
  if (p.length > 1024) return 'path is longer than 1024 characters';
  if (p.startsWith('/')) return 'path must be relative (no leading "/")';
  if (p.includes('\\')) return 'path must use "/" as separator (no backslash)';
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'path contains control characters';
  if (/^[A-Za-z]:/.test(p)) return 'path must be relative (no drive letter)';
  for (const seg of p.split('/')) {
    if (seg === '..') return 'path must not contain ".." segments';
    if (seg === '.') return 'path must not contain "." segments';
    if (seg === '') return 'path must not contain empty segments ("//" or a trailing "/")';
  }
  return null;
}

export const manifestFileSchema = z
  .object({
    path: z.string().superRefine((p, ctx) => {
      const problem = pathProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    sha256: z.string().regex(hex64, 'must be 64 lowercase hex characters'),
    cid: z.string().regex(/^b[a-z2-7]{20,}$/, 'must be a base32 CIDv1 (b…)'),
  })
  .strict();

export const manifestSchema = z
  .object({
    schema: z.literal(MANIFEST_SCHEMA),
    model: z.string().regex(slug, 'must be a model slug ([a-z0-9][a-z0-9-]{0,63})'),
    parent: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" followed by 64 lowercase hex characters')
      .nullable(),
    files: z.array(manifestFileSchema).min(1, 'a manifest lists at least one file').max(100_000),
    metadata: z
      .object({
        license: z.string().max(200).optional(),
        description: z.string().max(100_000).optional(),
        evals: z.array(z.unknown()).optional(),
      })
      .catchall(z.unknown())
      .optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Map<string, number>();
    m.files.forEach((f, i) => {
      const prev = seen.get(f.path);
      if (prev !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `duplicate path "${f.path}" (also files[${prev}])` });
      } else seen.set(f.path, i);
    });
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof manifestFileSchema>;

export interface ManifestIssue {
  path: string;
  message: string;
}

export class ManifestError extends Error {
  constructor(
    readonly code: 'invalid_manifest' | 'unknown_blob' | 'blob_mismatch' | 'unknown_parent',
    readonly issues: ManifestIssue[],
  ) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '));
  }
}

/** RFC 8785 (JCS) canonical bytes of a manifest. */
export function canonicalManifest(manifest: Manifest): Uint8Array {
  const text = canonicalize(manifest);
  if (text === undefined) throw new Error('manifest cannot be canonicalized');
  return new TextEncoder().encode(text);
}

export interface ManifestDigest {
  /** bare 64 hex (blob name in the store) */
  hex: string;
  /** `0x…` bytes32 for the contract and the API */
  bytes32: `0x${string}`;
  /** `sha256:…` for humans and manifests' `parent` */
  prefixed: `sha256:${string}`;
}

export function digestForms(hex: string): ManifestDigest {
  return { hex, bytes32: `0x${hex}`, prefixed: `sha256:${hex}` };
}

/** sha256 of the canonical bytes, in every form used around the system. */
export function manifestDigest(manifest: Manifest | Uint8Array): ManifestDigest {
  const bytes = manifest instanceof Uint8Array ? manifest : canonicalManifest(manifest);
  return digestForms(createHash('sha256').update(bytes).digest('hex'));
}

/** Accepts `0x…`, `sha256:…` or bare hex; returns bare lowercase hex or null. */
export function parseDigest(input: string): string | null {
  const s = input.trim().toLowerCase();
  const hex = s.startsWith('0x') ? s.slice(2) : s.startsWith('sha256:') ? s.slice(7) : s;
  return hex64.test(hex) ? hex : null;
}

/** Schema and path rules only (no store); throws ManifestError('invalid_manifest'). */
export function parseManifest(input: unknown): Manifest {
  const r = manifestSchema.safeParse(input);
  if (!r.success) {
    throw new ManifestError(
      'invalid_manifest',
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return r.data;
}

export interface ManifestContext {
  /** size and cid of a stored blob, or null when absent */
  statBlob(sha256: string): Promise<{ size: number; cid: string | null } | null>;
  /** whether a manifest with this bare-hex digest is known (stored) */
  hasManifest(digestHex: string): Promise<boolean>;
}

export interface ValidatedManifest {
  manifest: Manifest;
  canonical: Uint8Array;
  digest: ManifestDigest;
  /** whether the submitted bytes were already in canonical form (when bytes were given) */
  wasCanonical?: boolean;
}

/**
 * Full validation: schema, paths, every file present in the store with the same size and CID, the
 * parent known. Throws ManifestError naming every problem found.
 */
export async function validateManifest(input: unknown, ctx: ManifestContext): Promise<ValidatedManifest> {
  const manifest = parseManifest(input);
  const issues: ManifestIssue[] = [];
  let code: ManifestError['code'] = 'unknown_blob';
  await Promise.all(
    manifest.files.map(async (f, i) => {
      const st = await ctx.statBlob(f.sha256);
      if (!st) {
        issues.push({ path: `files.${i}`, message: `${f.path}: no uploaded blob with sha256 ${f.sha256}` });
        return;
      }
      if (st.size !== f.size) {
        code = 'blob_mismatch';
        issues.push({ path: `files.${i}.size`, message: `${f.path}: size is ${st.size}, manifest says ${f.size}` });
      }
      if (st.cid !== null && st.cid !== f.cid) {
        code = 'blob_mismatch';
        issues.push({ path: `files.${i}.cid`, message: `${f.path}: cid is ${st.cid}, manifest says ${f.cid}` });
      }
    }),
  );
  if (issues.length > 0) {
    issues.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
    throw new ManifestError(code, issues);
  }
  if (manifest.parent !== null && !(await ctx.hasManifest(manifest.parent.slice(7)))) {
    throw new ManifestError('unknown_parent', [{ path: 'parent', message: `no manifest with digest ${manifest.parent}` }]);
  }
  const canonical = canonicalManifest(manifest);
  return { manifest, canonical, digest: manifestDigest(canonical) };
}
