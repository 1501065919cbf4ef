import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

// Inter-process lock files for the cache (one per blob, one per snapshot), in the spirit of
// huggingface_hub's `.locks/<repo>/<blob>.lock` (filelock). Node has no flock(), so a lock is a file
// created with O_EXCL that names its holder (host, pid, random token) and whose mtime the holder
// refreshes while it works. A lock is stale, and is broken, when its holder is a dead process on
// this host, or when it has not been refreshed for `staleMs` (a holder on another host sharing the
// cache, or a pid reused by an unrelated process). A lock is only removed by the holder whose token
// it carries.

export interface LockHolder {
  host: string;
  pid: number;
  token: string;
  createdAt: string;
}

export interface LockOptions {
  /** Unrefreshed this long, a lock is stale whoever holds it (default 30 s; refreshed every staleMs/4). */
  staleMs?: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  onWait?: (holder: LockHolder | null) => void;
}

export interface HeldLock {
  readonly file: string;
  readonly token: string;
  release(): Promise<void>;
}

const DEFAULT_STALE_MS = 30_000;

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h?.token === 'string' && typeof h.pid === 'number' ? h : null;
  } catch {
    return null;
  }
}

/** Why the lock in `file` may be taken over, or null while its holder is alive and refreshing it. */
function staleReason(file: string, holder: LockHolder | null, staleMs: number): string | null {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return null; // gone: just try again
  }
  if (holder && holder.host === os.hostname() && !pidAlive(holder.pid)) return `its holder (pid ${holder.pid}) is gone`;
  const age = Date.now() - mtimeMs;
  if (age > staleMs) return `it was not refreshed for ${Math.round(age / 1000)} s`;
  return null;
}

/**
 * Takes a stale lock away without ever removing a live one: the file is moved aside under a unique
 * name first, and deleted only if it is still the stale holder's; otherwise it is put back.
 */
function breakStale(file: string, staleToken: string | null): void {
  const aside = `${file}.stale-${crypto.randomBytes(6).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = readHolder(aside);
  if ((moved?.token ?? null) !== staleToken) {
    // A new holder got in between our check and the rename: give its lock back.
    try {
      fs.linkSync(aside, file);
    } catch {
      /* a third process holds it now; the displaced holder's release finds another token and leaves it */
    }
  }
  fs.rmSync(aside, { force: true });
}

/** Waits (polling, with backoff up to 250 ms) until the lock is ours. */
export async function acquireLock(file: string, opts: LockOptions = {}): Promise<HeldLock> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const me: LockHolder = { host: os.hostname(), pid: process.pid, token: crypto.randomBytes(16).toString('hex'), createdAt: new Date().toISOString() };
  await fsp.mkdir(path.dirname(file), { recursive: true });
  let waitMs = 10;
  let told = false;
  for (;;) {
    // Written whole under a private name, then linked into place: link() fails if the lock exists,
    // and a lock file is never seen half-written.
    const tmp = `${file}.${me.token}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(me));
    try {
      fs.linkSync(tmp, file);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    const holder = readHolder(file);
    // An unreadable (damaged) lock is stale by age only.
    if (staleReason(file, holder, staleMs) !== null) {
      breakStale(file, holder?.token ?? null);
      continue;
    }
    if (!told) {
      told = true;
      opts.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, waitMs));
    waitMs = Math.min(waitMs * 2, 250);
  }
  const refresh = setInterval(
    () => {
      const now = new Date();
      fs.utimes(file, now, now, () => {});
    },
    Math.max(50, Math.floor(staleMs / 4)),
  );
  refresh.unref();
  let released = false;
  return {
    file,
    token: me.token,
    async release() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      if (readHolder(file)?.token === me.token) await fsp.rm(file, { force: true });
    },
  };
}

/** Runs `fn` holding the lock in `file`. */
export async function withLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(file, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
