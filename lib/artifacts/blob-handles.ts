import type { FileHandle } from 'node:fs/promises';

// Open read handles of blobs, shared by the reads that come close together (the gateway's raw blocks:
// one request per 1 MiB leaf, 16 at a time): an open and a close per leaf were about 40 % of the
// raw-block route's own CPU, and the existence check before it another 25 %. A handle unused for
// IDLE_MS is closed; at most MAX_OPEN are kept (past that, reads open and close their own).

const IDLE_MS = 2_000;
const MAX_OPEN = 64;

interface Entry {
  fh: Promise<FileHandle>;
  /** The open succeeded (until then the blob is not known to exist). */
  ready: boolean;
  users: number;
  idle: NodeJS.Timeout | null;
}

export class BlobHandles {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opener: (key: string) => Promise<FileHandle>,
    private readonly limits: { maxOpen: number; idleMs: number } = { maxOpen: MAX_OPEN, idleMs: IDLE_MS },
  ) {}

  /** True when a handle of `key` is open and not evicted: the blob existed when it was opened. */
  isOpen(key: string): boolean {
    return this.entries.get(key)?.ready === true;
  }

  /** Runs `fn` with an open handle of `key` (shared; `fn` must not close it). */
  async use<T>(key: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.limits.maxOpen) {
        const fh = await this.opener(key);
        try {
          return await fn(fh);
        } finally {
          await fh.close();
        }
      }
      const entry: Entry = { fh: this.opener(key), ready: false, users: 0, idle: null };
      entry.fh.then(
        () => (entry.ready = true),
        () => this.entries.get(key) === entry && this.entries.delete(key),
      );
      this.entries.set(key, entry);
      e = entry;
    }
    e.users++;
    if (e.idle) clearTimeout(e.idle);
    e.idle = null;
    try {
      return await fn(await e.fh);
    } finally {
      if (--e.users === 0) this.idle(key, e);
    }
  }

  /** Forgets `key`'s handle (its blob is being deleted): closed now, or when its last read is done. */
  async evict(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.idle) clearTimeout(e.idle);
    if (e.users === 0) await close(e);
  }

  private idle(key: string, e: Entry): void {
    if (this.entries.get(key) !== e) return void close(e); // evicted (or failed) while in use
    e.idle = setTimeout(() => {
      if (e.users > 0 || this.entries.get(key) !== e) return;
      this.entries.delete(key);
      void close(e);
    }, this.limits.idleMs);
    e.idle.unref();
  }
}

async function close(e: Entry): Promise<void> {
  const fh = await e.fh.catch(() => null);
  await fh?.close().catch(() => {});
}
