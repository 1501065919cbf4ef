import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Hex } from 'viem';
import { ModelDaoError } from './errors.ts';
import { checkManifestPath } from './paths.ts';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  cid?: string;
  [k: string]: unknown;
}
export interface Manifest {
  schema: 'modeldao.manifest/v1';
  model: string;
  parent: string | null;
  files: ManifestFile[];
  metadata?: Record<string, unknown>;
}

export function sha256Hex(bytes: Buffer | Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** `0x…` (chain) → bare lowercase hex. */
export function digestHex(digest: Hex | string): string {
  return digest.replace(/^(0x|sha256:)/, '').toLowerCase();
}

/**
 * Validates a manifest whose bytes already matched the on-chain digest. Even approved content is
 * checked for what would make the client misbehave: unsafe paths, duplicate or nested paths,
 * malformed hashes and sizes.
 */
export function parseManifest(bytes: Buffer, expectedModel?: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    throw new ModelDaoError('integrity', 'manifest_invalid', 'manifest is not valid JSON');
  }
  const bad = (why: string) => new ModelDaoError('integrity', 'manifest_invalid', `manifest is invalid: ${why}`);
  if (!m || typeof m !== 'object') throw bad('not an object');
  if (m.schema !== 'modeldao.manifest/v1') throw bad(`unknown schema ${JSON.stringify(m.schema)}`);
  if (expectedModel !== undefined && m.model !== expectedModel) throw bad(`it describes model ${JSON.stringify(m.model)}, not "${expectedModel}"`);
  if (!Array.isArray(m.files) || m.files.length === 0) throw bad('no files');
  const seen = new Set<string>();
  for (const f of m.files) {
    if (!f || typeof f !== 'object') throw bad('a file entry is not an object');
    checkManifestPath(f.path);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw bad(`${f.path}: size must be a non-negative integer`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`${f.path}: sha256 must be 64 lowercase hex`);
    const key = f.path.toLowerCase();
    if (seen.has(key)) throw bad(`duplicate path ${f.path}`);
    seen.add(key);
  }
  // "a" and "a/b" cannot both be files.
  for (const f of m.files) {
    const parts = f.path.toLowerCase().split('/');
    for (let i = 1; i < parts.length; i++) {
      if (seen.has(parts.slice(0, i).join('/'))) throw bad(`${f.path} is nested under another file's path`);
    }
  }
  return m;
}

/** Writes bytes to `file` via a temp file + rename, so readers never see a partial file. */
export function writeFileAtomic(file: string, bytes: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}
