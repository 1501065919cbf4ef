import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { copyBytes } from '../bytes.ts';
import { BlobHandles } from './blob-handles.ts';
import { RING_SLACK, SLOT_BYTES, StreamingHasher, hashFile, sha256File, type ContentHashes, type Slot } from './hash.ts';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface PutOptions {
  /** Bare 64-hex sha256 the client says it sent; checked before the blob is committed. */
  expectedSha256?: string;
  /** Upload size limit; exceeding it aborts with StoreError 'too_large'. */
  maxBytes?: number;
  /** Sees every byte in order, synchronously (e.g. the safetensors header sniffer). */
  tap?: (chunk: Uint8Array) => void;
  /** Last check before commit (e.g. safetensors validation); throwing discards the upload. */
  beforeCommit?: (hashes: ContentHashes) => void | Promise<void>;
}

export interface PutResult extends ContentHashes {
  /** false when the same bytes were already stored (identical bytes are stored once). */
  created: boolean;
}

export interface BlobStat {
  sha256: string;
  size: number;
  cid: string | null;
}

export interface ByteRange {
  /** inclusive */
  start: number;
  /** inclusive */
  end: number;
}

/**
 * The narrow interface every backend implements (local disk today; IPFS pinning or object storage
 * could sit behind the same calls). Blobs are addressed by bare lowercase sha256 hex.
 */
export interface ArtifactStore {
  put(source: AsyncIterable<Uint8Array> | Readable, opts?: PutOptions): Promise<PutResult>;
  has(sha256: string): Promise<boolean>;
  stat(sha256: string): Promise<BlobStat | null>;
  createReadStream(sha256: string, range?: ByteRange): Readable;
  /** Stores on local disk: the blob opened for positional reads (GET /api/blobs reads it into reused buffers). */
  openBlob?(sha256: string): Promise<fs.promises.FileHandle>;
  delete(sha256: string): Promise<boolean>;
  list(): AsyncIterable<string>;
}

export type StoreErrorCode = 'too_large' | 'hash_mismatch' | 'invalid_digest' | 'aborted';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Buffered writes only: start writeback during the upload rather than leaving the whole file to the
 * final fsync. (Direct writes go to the device as they are made.)
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Slots in an upload's ring (4 × 4 MiB). When the hash worker is the slower side the ring is full,
 * and its last slots are hashed after the last byte arrived: with 8 slots the hashes were ready
 * 19–52 ms after the last byte of a 256 MiB upload, with 4 slots 8–21 ms; CPU the same.
 */
const UPLOAD_SLOTS = 4;

export interface StoreOptions {
  /**
   * Write whole 4 MiB slots of an upload with O_DIRECT (default true where the file system allows
   * it). Buffered writes of incompressible data cost the kernel ~1.5 CPU s/GiB here (page-cache
   * copy plus writeback), direct writes ~0.25 s/GiB, and the upload path is CPU-bound.
   */
  directIo?: boolean;
}
/** 256 KiB reads measured best for serving (64 KiB: more syscalls; 1–4 MiB: worse socket interplay). */
export const READ_HIGH_WATER_MARK = 256 * 1024;

/**
 * Blobs on local disk: `<root>/blobs/<aa>/<sha256>`, CIDs beside them in `<root>/meta/<aa>/<sha256>.cid`,
 * uploads in progress in `<root>/tmp/<pid>-<uuid>.part`.
 *
 * Write path: temp file (hashing while streaming) → fdatasync → rename to its sha256 → fsync the
 * directory. A blob file therefore only ever appears complete and under its own content hash.
 */
/** Temp files this process is writing right now (names in a store's tmp/), across store instances. */
const writing = new Set<string>();

export class LocalArtifactStore implements ArtifactStore {
  /** Read handles shared by close reads of the same blob (readRange); `has` trusts an open one. */
  private readonly handles = new BlobHandles((sha256) => fs.promises.open(this.blobPath(sha256), 'r'));

  private constructor(
    readonly root: string,
    private readonly directIo: boolean,
  ) {}

  /** Opens (creating if needed) a store and removes temp files left by dead processes. */
  static async open(root: string, opts: StoreOptions = {}): Promise<LocalArtifactStore> {
    const store = new LocalArtifactStore(path.resolve(root), opts.directIo ?? true);
    await fs.promises.mkdir(store.tmpDir, { recursive: true });
    await fs.promises.mkdir(path.join(store.root, 'blobs'), { recursive: true });
    await fs.promises.mkdir(path.join(store.root, 'meta'), { recursive: true });
    await fs.promises.mkdir(store.sessionDir, { recursive: true });
    await store.cleanTemp();
    return store;
  }

  get tmpDir() {
    return path.join(this.root, 'tmp');
  }

  blobPath(sha256: string) {
    return path.join(this.root, 'blobs', sha256.slice(0, 2), sha256);
  }

  private cidPath(sha256: string) {
    return path.join(this.root, 'meta', sha256.slice(0, 2), `${sha256}.cid`);
  }

  /**
   * Temp files whose writer is gone (crash, kill -9) are deleted; returns how many. A file named with
   * this process's pid but not being written by it is a previous incarnation's: in a container the
   * restarted server often gets the same pid (1) as the one that was killed.
   */
  async cleanTemp(): Promise<number> {
    let removed = 0;
    for (const name of await fs.promises.readdir(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (pid === process.pid ? writing.has(name) : Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
      await fs.promises.rm(path.join(this.tmpDir, name), { force: true });
      removed++;
    }
    return removed;
  }

  async put(source: AsyncIterable<Uint8Array> | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const expected = opts.expectedSha256?.toLowerCase();
    if (expected !== undefined && !SHA256_HEX.test(expected)) {
      throw new StoreError('invalid_digest', 'expected sha256 must be 64 hex characters');
    }
    const maxBytes = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const tmpName = `${process.pid}-${randomUUID()}.part`;
    const tmp = path.join(this.tmpDir, tmpName);
    writing.add(tmpName);
    const fh = await fs.promises.open(tmp, 'wx');
    const hasher = new StreamingHasher({ slots: UPLOAD_SLOTS });
    // Whole slots (4 MiB at 4 MiB offsets, block-aligned memory) through an O_DIRECT handle; the
    // short last slot through the buffered one. Both are the same temp file.
    const direct = this.directIo ? await openDirect(tmp, hasher).catch(() => null) : null;
    let closed = false;
    let committed = false;
    // Slots are written with explicit positions, so several writes may be in flight at once.
    const writes = new Set<Promise<void>>();
    let writeError: unknown = null;
    let pendingSync: Promise<unknown> | null = null;
    let sinceSync = 0;
    let position = 0;
    let total = 0;

    let slot: Slot | null = null;
    let fill = 0;

    const flush = () => {
      if (!slot || fill === 0) return;
      const s = slot;
      const length = fill;
      slot = null;
      fill = 0;
      hasher.submit(s, length, true);
      const at = position;
      const viaDirect = direct !== null && length === SLOT_BYTES;
      const w: Promise<void> = (viaDirect ? direct : fh)
        .write(s.bytes, 0, length, at)
        // a ring aligned for another device (pooled rings keep their offset): write this slot buffered
        .catch((err: NodeJS.ErrnoException) => {
          if (viaDirect && err.code === 'EINVAL') return fh.write(s.bytes, 0, length, at);
          throw err;
        })
        .then(
          ({ bytesWritten }) => {
            // write(2) may write less without an error (disk full): never leave a hole
            if (bytesWritten !== length) writeError ??= new Error(`short write at ${at}: ${bytesWritten} of ${length} bytes (disk full?)`);
          },
          (err) => {
            writeError ??= err;
          },
        )
        .finally(() => {
          writes.delete(w);
          hasher.writerDone(s);
        });
      writes.add(w);
      position += length;
      sinceSync += length;
      if (!direct && sinceSync >= SYNC_EVERY_BYTES && pendingSync === null) {
        sinceSync = 0;
        pendingSync = fh.datasync().finally(() => (pendingSync = null));
        pendingSync.catch(() => {});
      }
    };

    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        total += chunk.byteLength;
        if (total > maxBytes) throw new StoreError('too_large', `upload exceeds the limit of ${maxBytes} bytes`);
        if (writeError) throw writeError;
        opts.tap?.(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          slot ??= await hasher.acquire();
          const n = Math.min(chunk.byteLength - off, SLOT_BYTES - fill);
          copyBytes(slot.bytes, fill, chunk.subarray(off, off + n));
          fill += n;
          off += n;
          if (fill === SLOT_BYTES) flush();
        }
      }
      flush();
      while (writes.size > 0) await Promise.all(writes);
      if (writeError) throw writeError;
      if (pendingSync) await pendingSync;
      // the file is made durable while the workers finish hashing its last slots
      const durable = (async () => {
        if (direct) {
          await direct.close();
          // the alignment probe wrote one block at offset 0, past the end of a smaller upload
          await fh.truncate(position);
        }
        await fh.datasync();
        await fh.close();
        closed = true;
      })();
      const [synced, digested] = await Promise.allSettled([durable, hasher.digest()]);
      if (synced.status === 'rejected') throw synced.reason;
      if (digested.status === 'rejected') throw digested.reason;
      const hashes = digested.value;
      const result = await this.commit(tmp, hashes, expected, opts);
      committed = true;
      return result;
    } catch (err) {
      hasher.abort();
      throw err;
    } finally {
      if (writes.size > 0) await Promise.allSettled([...writes]);
      if (!closed) {
        await direct?.close().catch(() => {});
        await fh.close().catch(() => {});
      }
      if (!committed) await fs.promises.rm(tmp, { force: true }).catch(() => {});
      writing.delete(tmpName);
    }
  }

  /**
   * Checks (expected sha256, `beforeCommit`) and renames a complete, durable file into place under
   * its sha256; when those bytes are already stored the file is deleted instead.
   */
  private async commit(file: string, hashes: ContentHashes, expected: string | undefined, opts: PutOptions): Promise<PutResult> {
    if (expected !== undefined && hashes.sha256 !== expected) {
      throw new StoreError('hash_mismatch', `content sha256 is ${hashes.sha256}, expected ${expected}`);
    }
    await opts.beforeCommit?.(hashes);
    const dest = this.blobPath(hashes.sha256);
    if (await exists(dest)) {
      await fs.promises.rm(file, { force: true });
      return { ...hashes, created: false };
    }
    await Promise.all([
      // a new fan-out directory must itself be durable in blobs/ before a blob is renamed into it
      (async () => {
        if (await fs.promises.mkdir(path.dirname(dest), { recursive: true })) await fsyncDir(path.dirname(path.dirname(dest)));
      })(),
      writeFileDurable(this.cidPath(hashes.sha256), hashes.cid, this.tmpDir),
    ]);
    await fs.promises.rename(file, dest);
    await fsyncDir(path.dirname(dest));
    return { ...hashes, created: true };
  }

  /**
   * Resumable uploads keep their bytes here (same file system as blobs/, so finishing one is a
   * rename, not a copy). cleanTemp leaves this directory alone: a session outlives restarts.
   */
  get sessionDir() {
    return path.join(this.root, 'sessions');
  }

  /**
   * Adopts a complete, durable file from `sessionDir`: one read pass hashes it (both hashes in
   * workers, `tap` sees every byte), then the same checks and commit as `put`, and the file is
   * renamed into place.
   * On a check failure (hash mismatch, too large, `beforeCommit` throwing) the file is left where it
   * is for the caller to discard; it never becomes a blob under the wrong name.
   */
  async putFile(file: string, opts: PutOptions = {}): Promise<PutResult> {
    const expected = opts.expectedSha256?.toLowerCase();
    if (expected !== undefined && !SHA256_HEX.test(expected)) {
      throw new StoreError('invalid_digest', 'expected sha256 must be 64 hex characters');
    }
    if (path.dirname(path.resolve(file)) !== this.sessionDir) throw new Error(`putFile takes files from ${this.sessionDir}`);
    const { size } = await fs.promises.stat(file);
    if (size > (opts.maxBytes ?? Number.MAX_SAFE_INTEGER)) throw new StoreError('too_large', `upload exceeds the limit of ${opts.maxBytes} bytes`);
    // the bytes are durable already: whoever wrote the file fdatasync'ed it (the PATCH route does)
    const hashes = await hashFile(file, opts.tap);
    return this.commit(file, hashes, expected, opts);
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    // a handle open right now: the blob is there (delete evicts the handle first)
    if (this.handles.isOpen(sha256)) return true;
    return exists(this.blobPath(sha256));
  }

  async stat(sha256: string): Promise<BlobStat | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    try {
      const st = await fs.promises.stat(this.blobPath(sha256));
      let cid: string | null = null;
      try {
        cid = (await fs.promises.readFile(this.cidPath(sha256), 'utf8')).trim() || null;
      } catch {
        cid = null;
      }
      return { sha256, size: st.size, cid };
    } catch {
      return null;
    }
  }

  createReadStream(sha256: string, range?: ByteRange): Readable {
    if (!SHA256_HEX.test(sha256)) throw new StoreError('invalid_digest', 'not a sha256 digest');
    return fs.createReadStream(this.blobPath(sha256), {
      start: range?.start,
      end: range?.end,
      highWaterMark: READ_HIGH_WATER_MARK,
    });
  }

  openBlob(sha256: string): Promise<fs.promises.FileHandle> {
    if (!SHA256_HEX.test(sha256)) throw new StoreError('invalid_digest', 'not a sha256 digest');
    return fs.promises.open(this.blobPath(sha256), 'r');
  }

  /**
   * The bytes of `range` in one buffer, read by position (shorter when the blob ends first): for
   * small ranges wanted whole, such as the IPFS node's leaves, where a stream's chunks, copies and
   * events cost more CPU than the read (lib/ipfs/node.ts). Read into `into` (its start) when given and
   * large enough, such as a reused buffer of a BufferPool (lib/artifacts/buffer-pool.ts).
   */
  async readRange(sha256: string, range: ByteRange, into?: Buffer): Promise<Buffer> {
    if (!SHA256_HEX.test(sha256)) throw new StoreError('invalid_digest', 'not a sha256 digest');
    return this.handles.use(sha256, (fh) => readRangeOf(fh, range, into));
  }

  async delete(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    const p = this.blobPath(sha256);
    await this.handles.evict(sha256);
    const had = await exists(p);
    await fs.promises.rm(p, { force: true });
    await this.handles.evict(sha256); // one a read opened meanwhile
    await fs.promises.rm(this.cidPath(sha256), { force: true });
    if (had) await fsyncDir(path.dirname(p));
    return had;
  }

  async blobMtime(sha256: string): Promise<Date | null> {
    try {
      return (await fs.promises.stat(this.blobPath(sha256))).mtime;
    } catch {
      return null;
    }
  }

  async *list(): AsyncIterable<string> {
    const blobs = path.join(this.root, 'blobs');
    for (const prefix of (await fs.promises.readdir(blobs)).sort()) {
      for (const name of (await fs.promises.readdir(path.join(blobs, prefix))).sort()) yield name;
    }
  }

  /** Re-hashes every blob; returns the names whose content does not match (should always be empty). */
  async verifyAll(): Promise<{ checked: number; bad: string[] }> {
    const bad: string[] = [];
    let checked = 0;
    for await (const name of this.list()) {
      checked++;
      if (!SHA256_HEX.test(name) || (await sha256File(this.blobPath(name))) !== name) bad.push(name);
    }
    return { checked, bad };
  }
}

/** Last ring offset that gave block-aligned memory (the allocator is consistent, so try it first). */
let lastAlignedBase = 0;

/**
 * An O_DIRECT handle on `file`, with the hasher's ring moved to block-aligned memory, or null where
 * the file system refuses direct I/O. JavaScript cannot see addresses, so alignment is found by
 * probing: a one-block direct write at offset 0 fails with EINVAL until the buffer is aligned.
 */
async function openDirect(file: string, hasher: StreamingHasher): Promise<fs.promises.FileHandle | null> {
  const O_DIRECT = fs.constants.O_DIRECT;
  if (!O_DIRECT) return null;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, fs.constants.O_WRONLY | O_DIRECT);
  } catch {
    return null; // e.g. tmpfs
  }
  const BLOCK = 4096;
  const known = hasher.alignedBase;
  if (known !== null) {
    hasher.setBase(known);
    return fh; // a reused ring whose aligned offset was probed before
  }
  const candidates = [lastAlignedBase];
  for (let base = 0; base < RING_SLACK; base += 8) if (base !== lastAlignedBase) candidates.push(base);
  for (const base of candidates) {
    try {
      await fh.write(Buffer.from(hasher.sab, base, BLOCK), 0, BLOCK, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') continue;
      break;
    }
    lastAlignedBase = base;
    hasher.setBase(base);
    return fh;
  }
  await fh.close();
  return null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.access(p);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string) {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Small file, atomically: written in `tmpDir` (same file system, swept by cleanTemp), renamed, dir fsynced. */
async function writeFileDurable(file: string, content: string, tmpDir: string) {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(tmpDir, `${process.pid}-${randomUUID()}.meta`);
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.datasync();
  } catch (err) {
    await fh.close();
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fs.promises.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/**
 * The bytes of `range` of an open file in one buffer, read by position (shorter when the file ends
 * first); into `into` (its start) when given and large enough.
 */
async function readRangeOf(fh: fs.promises.FileHandle, range: ByteRange, into?: Buffer): Promise<Buffer> {
  const length = range.end - range.start + 1;
  const out = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(out, filled, length - filled, range.start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? out : out.subarray(0, filled);
}
