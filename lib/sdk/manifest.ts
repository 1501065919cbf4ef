import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Hex } from 'viem';
import { ModelDaoError } from './errors.ts';
import { ManifestError, parseManifest as parseManifestShape, type Manifest } from '../manifest/index.ts';

export type { Manifest, ManifestFile } from '../manifest/index.ts';

export function sha256Hex(bytes: Buffer | Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** `0x…` (chain) → bare lowercase hex. */
export function digestHex(digest: Hex | string): string {
  return digest.replace(/^(0x|sha256:)/, '').toLowerCase();
}

/**
 * Validates a manifest whose bytes already matched the on-chain digest, with the same rules the
 * server applied when it stored it (lib/manifest): even approved content is checked for what would
 * make the client misbehave (unsafe, reserved, duplicate or nested paths, malformed hashes and sizes).
 */
export function parseManifest(bytes: Buffer, expectedModel?: string): Manifest {
  let input: unknown;
  try {
    input = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ModelDaoError('integrity', 'manifest_invalid', 'manifest is not valid JSON');
  }
  let m: Manifest;
  try {
    m = parseManifestShape(input);
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    const files = (input as { files?: { path?: unknown }[] }).files;
    const onPath = err.issues.find((i) => /^files\.\d+\.path$/.test(i.path));
    if (onPath) {
      const p = files?.[Number(onPath.path.split('.')[1])]?.path;
      throw new ModelDaoError('integrity', 'unsafe_path', `manifest file path ${JSON.stringify(p)} is unsafe (${onPath.message})`);
    }
    throw new ModelDaoError('integrity', 'manifest_invalid', `manifest is invalid: ${err.message}`);
  }
  if (expectedModel !== undefined && m.model !== expectedModel) {
    throw new ModelDaoError('integrity', 'manifest_invalid', `manifest is invalid: it describes model ${JSON.stringify(m.model)}, not "${expectedModel}"`);
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
