import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ModelDaoError } from './errors.ts';
import { writeFileAtomic } from './manifest.ts';

// The cache's bookkeeping next to blobs/ and snapshots/: `.locks/` (lib/sdk/lock.ts) and
// `.verified/<sha256>.json`, the record written after a blob's sha256 was checked. A blob is trusted
// without re-hashing only while it is the very file that was checked (same size, inode, device and
// mtime); a blob with no record, or one that changed, is hashed again before use.

export interface VerificationRecord {
  sha256: string;
  size: number;
  dev: number;
  ino: number;
  mtimeMs: number;
  verifiedAt: string;
}

export const cacheLayout = (cacheDir: string) => ({
  blobs: path.join(cacheDir, 'blobs'),
  locks: path.join(cacheDir, '.locks'),
  verified: path.join(cacheDir, '.verified'),
});

const recordFile = (cacheDir: string, sha256: string) => path.join(cacheLayout(cacheDir).verified, `${sha256}.json`);

/** Records that the blob now at blobs/<sha256> hashed to its name. */
export function recordVerified(cacheDir: string, sha256: string): void {
  const st = fs.statSync(path.join(cacheLayout(cacheDir).blobs, sha256));
  const rec: VerificationRecord = { sha256, size: st.size, dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, verifiedAt: new Date().toISOString() };
  writeFileAtomic(recordFile(cacheDir, sha256), JSON.stringify(rec) + '\n');
}

/** Whether blobs/<sha256> is the file a verification record vouches for, with the expected size. */
export function isVerified(cacheDir: string, sha256: string, size: number): boolean {
  let st: fs.Stats;
  let rec: VerificationRecord;
  try {
    st = fs.statSync(path.join(cacheLayout(cacheDir).blobs, sha256));
    rec = JSON.parse(fs.readFileSync(recordFile(cacheDir, sha256), 'utf8')) as VerificationRecord;
  } catch {
    return false;
  }
  return rec.sha256 === sha256 && rec.size === size && st.size === size && st.ino === rec.ino && st.dev === rec.dev && st.mtimeMs === rec.mtimeMs;
}

/** Hashes blobs/<sha256> again; records it when it matches, deletes it (and any record) when not. */
export async function reverify(cacheDir: string, sha256: string, size: number): Promise<boolean> {
  const blob = path.join(cacheLayout(cacheDir).blobs, sha256);
  let st: fs.Stats;
  try {
    st = fs.statSync(blob);
  } catch {
    return false;
  }
  if (st.size === size) {
    const hash = crypto.createHash('sha256');
    for await (const c of fs.createReadStream(blob, { highWaterMark: 8 * 1024 * 1024 })) hash.update(c as Buffer);
    if (hash.digest('hex') === sha256) {
      recordVerified(cacheDir, sha256);
      return true;
    }
  }
  fs.rmSync(recordFile(cacheDir, sha256), { force: true });
  fs.rmSync(blob, { force: true });
  return false;
}

const LOCAL_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EACCES',
  'EPERM',
  'EROFS',
  'EIO',
  'ENOTDIR',
  'EISDIR',
  'ENOENT',
  'EEXIST',
  'ENOTEMPTY',
  'EMFILE',
  'ENFILE',
  'EXDEV',
  'ELOOP',
  'ENAMETOOLONG',
]);

/** A filesystem error of this machine (not of the network): disk full, permissions, a vanished directory. */
export function isLocalIoError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | null;
  return Boolean(
    e && typeof e === 'object' && typeof e.code === 'string' && typeof e.syscall === 'string' && LOCAL_CODES.has(e.code) && e.syscall !== 'getaddrinfo',
  );
}

export function localError(err: NodeJS.ErrnoException, what: string): ModelDaoError {
  return new ModelDaoError('local', 'local_io', `${what}: ${err.code} ${err.syscall}${err.path ? ` ${err.path}` : ''} (${err.message})`, { cause: err });
}
