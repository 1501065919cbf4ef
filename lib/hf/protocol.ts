import crypto from 'node:crypto';
import { HttpError } from '../server/http.ts';

// The Hugging Face Hub wire protocol, as far as huggingface_hub 2.x uses it to download. Followed from
// the client's source (huggingface/huggingface_hub, src/huggingface_hub/):
// - constants.py: HUGGINGFACE_CO_URL_TEMPLATE = ENDPOINT + "/{repo_id}/resolve/{revision}/{filename}";
//   headers X-Repo-Commit, X-Linked-Etag, X-Linked-Size.
// - file_download.py get_hf_file_metadata(): HEAD on the resolve URL; commit_hash = X-Repo-Commit
//   (required), etag = X-Linked-Etag or ETag (required, quotes and W/ stripped; used as the blob's file
//   name in the cache), size = X-Linked-Size or Content-Length (required). REGEX_COMMIT_HASH is
//   ^[0-9a-f]{40}$: a revision of that form is taken as a commit and, once cached, never re-asked.
//   http_get() resumes with Range and only checks the size ("Consistency check failed") — it does not
//   hash what it receives, which is why the local endpoint must never send unverified bytes.
// - hf_api.py model_info(): GET {endpoint}/api/models/{repo_id}[/revision/{quote(rev, safe='')}] →
//   ModelInfo(id, sha, siblings[{rfilename, size, blobId, lfs{size, sha256, pointerSize}}], gated,
//   private, lastModified, cardData); list_repo_tree(): GET …/tree/{rev}[/{path}]?recursive=…, items
//   {type: file|directory, path, size, oid, lfs{oid, size, pointerSize}}, paginated by a Link header;
//   get_paths_info(): POST …/paths-info/{rev} with form field `paths`.
// - _snapshot_download.py: repo_info → sha; list_repo_tree(revision=sha); hf_hub_download(revision=sha)
//   per file (so every route must accept the commit id as a revision).
// - utils/_http.py hf_raise_for_status(): X-Error-Code RepoNotFound → RepositoryNotFoundError,
//   GatedRepo → GatedRepoError, RevisionNotFound → RevisionNotFoundError, EntryNotFound →
//   RemoteEntryNotFoundError; X-Error-Message is shown to the user.

export type HfErrorCode = 'RepoNotFound' | 'GatedRepo' | 'RevisionNotFound' | 'EntryNotFound';

/** Header values must be one line of visible ASCII; text from URLs or the chain is hostile. */
export function headerSafe(text: string, max = 400): string {
  const s = text.replace(/[^\x20-\x7e]/g, '?');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** An HttpError the HF client maps to its own exception class (body in the house shape as well). */
export function hfError(status: number, hfCode: HfErrorCode | null, code: string, message: string, headers: Record<string, string> = {}): HttpError {
  const h: Record<string, string> = { 'x-error-message': headerSafe(message), ...headers };
  if (hfCode) h['x-error-code'] = hfCode;
  return new HttpError(status, code, message, h);
}

export type Revision = { kind: 'main' } | { kind: 'version'; version: number } | { kind: 'commit'; commit: string } | { kind: 'digest'; digestHex: string };

/**
 * Revisions: `main` = the current approved version; `v1`, `v2`, … = that version; 40 hex = the commit
 * id of a version (see commitOf); 64 hex (optionally 0x) = the manifest digest itself. Anything else
 * is no revision of ours (RevisionNotFound).
 */
export function parseRevision(raw: string): Revision | null {
  const r = raw.trim();
  if (r === 'main') return { kind: 'main' };
  const v = /^v([1-9]\d{0,9})$/.exec(r);
  if (v) {
    const n = Number(v[1]);
    return n <= 0xffffffff ? { kind: 'version', version: n } : null;
  }
  if (/^[0-9a-f]{40}$/.test(r)) return { kind: 'commit', commit: r };
  const d = /^(?:0x|sha256:)?([0-9a-fA-F]{64})$/.exec(r);
  if (d) return { kind: 'digest', digestHex: d[1]!.toLowerCase() };
  return null;
}

/**
 * The commit id of a version: the first 40 hex digits of its on-chain manifest digest. Stable (the
 * digest never changes), in the form the client takes for a commit, and it names the approved content.
 */
export function commitOf(manifestDigest: string): string {
  return manifestDigest
    .replace(/^(0x|sha256:)/, '')
    .toLowerCase()
    .slice(0, 40);
}

/** Does this parsed revision name the version with this digest (and number)? */
export function revisionMatches(rev: Revision, v: { version: number; manifestDigest: string }): boolean {
  const hex = v.manifestDigest.replace(/^0x/, '').toLowerCase();
  if (rev.kind === 'version') return rev.version === v.version;
  if (rev.kind === 'commit') return hex.startsWith(rev.commit);
  if (rev.kind === 'digest') return hex === rev.digestHex;
  return false;
}

export function describeRevision(raw: string): string {
  return JSON.stringify(headerSafe(raw, 80));
}

/** The `paths` of a paths-info request: form-encoded (what the client sends) or JSON. */
export function parsePathsInfoBody(body: Buffer, contentType: string): string[] {
  let paths: unknown;
  if (/json/i.test(contentType)) {
    try {
      paths = (JSON.parse(body.toString('utf8')) as { paths?: unknown }).paths;
    } catch {
      throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
    }
  } else {
    paths = new URLSearchParams(body.toString('utf8')).getAll('paths');
  }
  if (typeof paths === 'string') paths = [paths];
  if (!Array.isArray(paths) || paths.some((x) => typeof x !== 'string') || paths.length > 10_000) {
    throw new HttpError(400, 'invalid_request', '`paths` must be a list of file paths');
  }
  return (paths as string[]).map((x) => x.replace(/^\/+|\/+$/g, ''));
}

export interface HfFile {
  path: string;
  size: number;
  sha256: string;
}

/** What both endpoints know about one approved version, enough to answer every route. */
export interface HfVersion {
  repoId: string;
  modelId: bigint;
  gated: boolean;
  version: number;
  status: string;
  manifestDigest: string;
  commit: string;
  lastModified: string | null;
  files: HfFile[];
  metadata: Record<string, unknown>;
  chainId: number;
  registry: string;
}

// Every file is presented as a Git LFS file: the Hub's ETag for LFS files is the sha256 of the
// content — exactly what the manifest approved — and the client names its cached blob by it.
function lfsPointer(f: HfFile): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.size}\n`;
}

/** The git blob id git would store for the LFS pointer of this file. */
function gitBlobId(content: string): string {
  const body = Buffer.from(content);
  return crypto.createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
}

function lfsInfo(f: HfFile) {
  const pointer = lfsPointer(f);
  return { blobId: gitBlobId(pointer), pointerSize: Buffer.byteLength(pointer) };
}

export function modelInfoBody(v: HfVersion, withFiles: boolean) {
  const meta = v.metadata ?? {};
  const cardData: Record<string, unknown> = {};
  if (typeof meta.license === 'string') cardData.license = meta.license;
  if (meta.evals !== undefined) cardData.evals = meta.evals;
  if (typeof meta.description === 'string') cardData.description = meta.description;
  return {
    _id: `${v.chainId}:${v.registry.toLowerCase()}:${v.modelId}`,
    id: v.repoId,
    modelId: v.repoId,
    sha: v.commit,
    lastModified: v.lastModified,
    private: false,
    gated: v.gated ? 'manual' : false,
    disabled: false,
    tags: ['modeldao'],
    cardData,
    siblings: withFiles
      ? v.files.map((f) => {
          const { blobId, pointerSize } = lfsInfo(f);
          return { rfilename: f.path, size: f.size, blobId, lfs: { size: f.size, sha256: f.sha256, pointerSize } };
        })
      : undefined,
    // Where the answer comes from; the client ignores what it does not know.
    modeldao: {
      chainId: v.chainId,
      registry: v.registry,
      modelId: v.modelId.toString(),
      version: v.version,
      status: v.status,
      manifestDigest: v.manifestDigest,
    },
  };
}

function treeFile(f: HfFile) {
  const { blobId, pointerSize } = lfsInfo(f);
  return { type: 'file', path: f.path, size: f.size, oid: blobId, lfs: { oid: f.sha256, size: f.size, pointerSize } };
}

function treeDir(v: HfVersion, dir: string) {
  return { type: 'directory', path: dir, size: 0, oid: crypto.createHash('sha1').update(`tree ${v.commit} ${dir}`).digest('hex') };
}

/** Every folder implied by the file paths. */
function folders(v: HfVersion): Set<string> {
  const out = new Set<string>();
  for (const f of v.files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return out;
}

/** GET …/tree/{rev}/{path}: entries under `dir` ('' = root), recursively or one level. Null: no such folder. */
export function treeBody(v: HfVersion, dir: string, recursive: boolean): unknown[] | null {
  const prefix = dir === '' ? '' : `${dir}/`;
  const dirs = folders(v);
  if (dir !== '' && !dirs.has(dir)) return null;
  const within = (p: string) => p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes('/'));
  const entries: { path: string; item: unknown }[] = [];
  for (const d of dirs) if (within(d)) entries.push({ path: d, item: treeDir(v, d) });
  for (const f of v.files) if (within(f.path)) entries.push({ path: f.path, item: treeFile(f) });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return entries.map((e) => e.item);
}

/** POST …/paths-info/{rev}: the entries for the paths that exist (unknown paths are left out, as the Hub does). */
export function pathsInfoBody(v: HfVersion, paths: string[]): unknown[] {
  const dirs = folders(v);
  const out: unknown[] = [];
  for (const p of paths) {
    const f = v.files.find((x) => x.path === p);
    if (f) out.push(treeFile(f));
    else if (dirs.has(p)) out.push(treeDir(v, p));
  }
  return out;
}

/** Headers of a resolve answer (HEAD and GET). */
export function resolveHeaders(v: HfVersion, f: HfFile): Record<string, string> {
  const etag = `"${f.sha256}"`;
  const name = f.path.split('/').pop() ?? f.path;
  return {
    'x-repo-commit': v.commit,
    etag,
    'x-linked-etag': etag,
    'x-linked-size': String(f.size),
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    'repr-digest': `sha-256=:${Buffer.from(f.sha256, 'hex').toString('base64')}:`,
    'cache-control': v.gated ? 'private, max-age=0, must-revalidate' : 'public, max-age=60, must-revalidate',
  };
}
