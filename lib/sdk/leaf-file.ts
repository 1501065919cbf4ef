import crypto from 'node:crypto';
import fs from 'node:fs';
import type { CID } from 'multiformats/cid';
import { copyBytes } from '../bytes.ts';
import type { OffThreadHash } from './sha256-worker.ts';
import { checkInSlab, forgetSlab, newSlab, SlabFileHash, type Slab as SharedSlab } from './block-check.ts';
import { Spares } from './spares.ts';

/** One leaf of a file's DAG: its CID and where its bytes go in the file. */
export interface Leaf {
  cid: CID;
  offset: number;
  size: number;
}

/** True when `bytes` hash to the sha2-256 multihash of `cid`. */
export function isBlockOf(cid: CID, bytes: Uint8Array): boolean {
  return crypto.createHash('sha256').update(bytes).digest().equals(cid.multihash.digest);
}

/** A sha256 on this thread, with the worker's interface. */
function inlineSha256(): OffThreadHash {
  const h = crypto.createHash('sha256');
  return { update: (b) => void h.update(b), digest: async () => h.digest('hex'), discard: () => {} };
}

/** Writes all of `bytes` at `position`. */
function writeAllAt(fd: number, bytes: Uint8Array, position: number): void {
  for (let off = 0; off < bytes.byteLength;) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off, position + off);
}

/** Direct I/O wants buffers, offsets and lengths in whole logical blocks; 4 KiB covers the usual 512 B and 4 KiB. */
const ALIGN = 4096;
/** One slot holds one leaf of modeldao's chunker (1 MiB). */
const SLOT_BYTES = 1024 * 1024;
/**
 * Slots per slab (the default): leaves being checked against their CID, leaves whose direct write or
 * turn in the file hash is under way, and leaves that came before their turn. Downloads keep at most
 * `window` leaves ahead of the hash (see `ahead`); a leaf that finds no free slot is checked here,
 * written through the page cache and read back for the hash instead.
 */
const SLOTS = 48;
/**
 * Slots not counted in the window: leaves whose turn in the file hash is over keep theirs until
 * their direct write ends (with none kept, 37 of 1024 leaves found no free slot in bench:ipfs).
 */
const BEHIND_SLOTS = 8;

/** Block-aligned memory for direct writes: slots of SLOT_BYTES from `base` of `ab`. */
interface Slab {
  /** shared, so that the hash threads read a slot where it is (block-check.ts) */
  mem: SharedSlab;
  base: number;
  slots: number;
}

/** The last slab, kept for the next file of the pull (let go after 10 s unused). */
const spareSlabs = new Spares<Slab>(1, 10_000, (slab) => forgetSlab(slab.mem));
let lastAlignedBase = 0;

/** `file` opened for direct writes (O_WRONLY | O_DIRECT), or null where its file system refuses them. */
export function openDirect(file: string): number | null {
  if (!fs.constants.O_DIRECT) return null;
  try {
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
  } catch {
    return null;
  }
}

/**
 * A slab whose slots start at block-aligned addresses, or null where `dir`'s file system refuses
 * O_DIRECT (tmpfs). JavaScript cannot see addresses, so alignment is found by probing: a one-block
 * direct write (to a scratch file beside the download) fails with EINVAL until the buffer is aligned.
 */
function alignedSlab(probeFile: string, slots: number): Slab | null {
  const spare = spareSlabs.take();
  if (spare?.slots === slots) return spare;
  if (spare) forgetSlab(spare.mem);
  const O_DIRECT = fs.constants.O_DIRECT;
  if (!O_DIRECT) return null;
  let fd: number;
  try {
    fd = fs.openSync(probeFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_DIRECT, 0o600);
  } catch {
    return null;
  }
  try {
    const mem = newSlab(slots * SLOT_BYTES + ALIGN);
    const ab = mem.sab;
    const candidates = [lastAlignedBase];
    for (let base = 0; base < ALIGN; base += 8) if (base !== lastAlignedBase) candidates.push(base);
    for (const base of candidates) {
      try {
        fs.writeSync(fd, new Uint8Array(ab, base, ALIGN), 0, ALIGN, 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EINVAL') continue;
        return null;
      }
      lastAlignedBase = base;
      return { mem, base, slots };
    }
    return null;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(probeFile, { force: true });
  }
}

/**
 * The partial file of a download by CID: verified leaves arrive in any order, each is written at
 * its offset and fed to the file's sha256 in file order.
 *
 * Writes: where the file system allows it, whole aligned leaves are copied into block-aligned slots
 * and written with O_DIRECT on the thread pool. Buffered writes of incompressible data cost this
 * kernel 1.5-2 CPU s/GiB (page-cache allocation and copy, then writeback), direct ones about 0.1:
 * on a 2-core machine that CPU is what the download, both hashes and the gateway share. Other leaves
 * (the file's short tail, odd import profiles) and leaves that find no free slot are written
 * through the page cache, synchronously.
 *
 * The file hash: a leaf that comes before its turn stays in its slot until then; one written
 * through the page cache is read back from it when its turn comes.
 */
export class LeafFile {
  private cursor = 0;
  /** leaves here before their turn: slot index, or -1 when they are to be read back from the file */
  private readonly early = new Map<number, number>();
  private readBack: Buffer | null = null;
  private readonly slab: Slab | null;
  private readonly directFd: number | null = null;
  private readonly free: number[] = [];
  /** per slot: how many of (its direct write, its turn in the hash) are still to come */
  private readonly owners: Uint8Array;
  /** direct writes, checks and file-hash feeds under way: each holds a slot (close waits for them) */
  private inflight = 0;
  /** leaves fed to the file hash from their slots, not yet read by the hasher thread */
  private feeding = 0;
  private drained: (() => void) | null = null;
  private writeError: Error | null = null;
  private closed = false;

  /**
   * Opens (creates or resumes) `part`, sized to the file. `hash` is the file's sha256, on the pull's
   * worker thread when there is one, else in-line.
   */
  constructor(
    readonly part: string,
    private readonly leaves: Leaf[],
    size: number,
    hash: OffThreadHash = inlineSha256(),
    opts: { direct?: boolean; slots?: number } = {},
  ) {
    const slots = opts.slots ?? SLOTS;
    this.owners = new Uint8Array(slots);
    const existing = fileSize(part);
    this.fd = fs.openSync(part, existing >= 0 ? 'r+' : 'w+');
    this.existing = existing;
    try {
      if (existing !== size) fs.ftruncateSync(this.fd, size);
      this.slab = opts.direct !== false && leaves.length > 1 ? alignedSlab(`${part}.direct-probe`, slots) : null;
      if (this.slab) {
        this.directFd = openDirect(part);
        if (this.directFd !== null) for (let s = slots - 1; s >= 0; s--) this.free.push(s);
        else {
          spareSlabs.give(this.slab);
          this.slab = null;
        }
      }
      // with a slab, the file hash reads whole leaves from their slots on the hasher thread
      if (this.slab) {
        hash.discard();
        this.fileHash = new SlabFileHash();
        this.hash = this.fileHash;
      } else this.hash = hash;
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  readonly fd: number;
  private readonly hash: OffThreadHash;
  private readonly fileHash: SlabFileHash | null = null;
  /** the partial file's size when opened (-1: there was none) */
  readonly existing: number;

  /** True when leaves are written with O_DIRECT (else all go through the page cache). */
  get direct(): boolean {
    return this.directFd !== null;
  }

  /**
   * How far ahead of the file hash leaf `i` is (in leaves). A download that starts leaves more
   * than `window` ahead would find no free slot for them: it waits for the hash to catch up instead.
   */
  ahead(i: number): number {
    // leaves fed to the hasher thread keep their slots until it has read them: still "ahead"
    return i - this.cursor + this.feeding;
  }

  /** Leaves that may arrive ahead of the file hash and still be held in memory. */
  get window(): number {
    return this.slab ? Math.max(1, this.slab.slots - BEHIND_SLOTS) : Infinity;
  }

  /**
   * Leaves already in the partial file from an earlier attempt whose bytes hash to their CIDs: fed
   * to the file hash and returned with their byte count; the others are still to fetch.
   */
  resume(): { todo: number[]; resumedBytes: number } {
    const todo: number[] = [];
    let resumedBytes = 0;
    const buf = Buffer.allocUnsafe(this.leaves.reduce((m, l) => Math.max(m, l.size), SLOT_BYTES));
    for (const [i, leaf] of this.leaves.entries()) {
      if (this.existing > 0 && leaf.offset + leaf.size <= this.existing && leaf.size > 0) {
        const n = fs.readSync(this.fd, buf, 0, leaf.size, leaf.offset);
        if (n === leaf.size && isBlockOf(leaf.cid, buf.subarray(0, n))) {
          resumedBytes += leaf.size;
          this.hashInOrder(i, buf.subarray(0, n), -1);
          continue;
        }
      }
      todo.push(i);
    }
    return { todo, resumedBytes };
  }

  /**
   * Leaf `i`, verified: written at its offset and fed to the file hash in its turn. `bytes` are only
   * used during the call. Throws a local write error (ENOSPC, EIO, …) of this or an earlier leaf.
   */
  add(i: number, bytes: Uint8Array): void {
    if (this.writeError) throw this.writeError;
    const slot = this.takeSlot(i);
    if (!slot) {
      writeAllAt(this.fd, bytes, this.leaves[i]!.offset);
      this.hashInOrder(i, bytes, -1);
      return;
    }
    copyBytes(slot.bytes, 0, bytes); // shared memory: see copyBytes
    this.commit(i, slot.s);
  }

  /**
   * A free slot for leaf `i`'s bytes, before they are checked against its CID (`checkInSlot`), or
   * null when there is none (no slab, a leaf that does not fit one, all slots busy): then check the
   * leaf here and `add` it. The slot is the caller's until `checkInSlot` or `giveSlot`.
   */
  takeSlot(i: number): { s: number; bytes: Buffer } | null {
    const leaf = this.leaves[i]!;
    const s = this.slab && this.fits(leaf) ? this.free.pop() : undefined;
    return s === undefined ? null : { s, bytes: this.slotBytes(s, leaf.size) };
  }

  /** A slot from `takeSlot` that was not filled after all. */
  giveSlot(s: number): void {
    this.free.push(s);
  }

  /**
   * Leaf `i`, whose bytes fill slot `s` (from `takeSlot`), checked against its CID on the checker
   * thread: resolves true once it is added (as by `add`), false when its bytes do not hash to its CID
   * (nothing written, the slot is free again). Rejects with a local write error, as `add` throws.
   */
  checkInSlot(i: number, s: number): Promise<boolean> {
    const leaf = this.leaves[i]!;
    this.inflight++;
    return checkInSlab(this.slab!.mem, this.slotOffset(s), leaf.size, leaf.cid.multihash.digest).then(
      (ok) => {
        this.settle();
        if (!ok) this.free.push(s);
        else if (this.writeError) {
          this.free.push(s);
          throw this.writeError;
        } else this.commit(i, s);
        return ok;
      },
      (err) => {
        this.settle();
        this.free.push(s);
        throw err;
      },
    );
  }

  private settle(): void {
    if (--this.inflight === 0) this.drained?.();
  }

  private fits(leaf: Leaf): boolean {
    return leaf.offset % ALIGN === 0 && leaf.size % ALIGN === 0 && leaf.size <= SLOT_BYTES;
  }

  /** Starts the direct write of leaf `i` from slot `s` and feeds it to the file hash in its turn. */
  private commit(i: number, s: number): void {
    const leaf = this.leaves[i]!;
    const slot = this.slotBytes(s, leaf.size);
    this.owners[s] = 2;
    this.inflight++;
    fs.write(this.directFd!, slot, 0, leaf.size, leaf.offset, (err, n) => {
      if (!err && n !== leaf.size) err = new Error(`short write at ${leaf.offset}: ${n} of ${leaf.size} bytes (disk full?)`) as NodeJS.ErrnoException;
      if (err && !this.closed) {
        // a direct write the device refuses (EINVAL: an odd block size): the same bytes through the page cache
        try {
          if (err.code !== 'EINVAL') throw err;
          writeAllAt(this.fd, slot, leaf.offset);
        } catch (e) {
          this.writeError ??= e as Error;
        }
      }
      this.disown(s);
      this.settle();
    });
    this.hashInOrder(i, slot, s);
  }

  /** Every leaf added: waits for the writes, returns the file's sha256 (hex); throws a write error. */
  async digest(): Promise<string> {
    await this.settled();
    if (this.writeError) throw this.writeError;
    if (this.cursor !== this.leaves.length) throw new Error(`file hash incomplete: ${this.cursor} of ${this.leaves.length} leaves`);
    if (process.env.MODELDAO_FSYNC === '1') fs.fsyncSync(this.fd);
    return this.hash.digest();
  }

  /** Forgets the hash (a failed attempt); the leaves written stay for a resume. */
  discard(): void {
    this.hash.discard();
  }

  /** Waits for the writes in flight, then closes the file (always call it, after success or failure). */
  async close(): Promise<void> {
    await this.settled();
    this.closed = true;
    if (this.directFd !== null) fs.closeSync(this.directFd);
    fs.closeSync(this.fd);
    if (this.slab) spareSlabs.give(this.slab);
  }

  private settled(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => {
      this.drained = () => {
        this.drained = null;
        r();
      };
    });
  }

  private slotBytes(s: number, size: number): Buffer {
    return Buffer.from(this.slab!.mem.sab, this.slotOffset(s), size);
  }

  private slotOffset(s: number): number {
    return this.slab!.base + s * SLOT_BYTES;
  }

  private disown(s: number): void {
    if (--this.owners[s]! === 0) this.free.push(s);
  }

  /** Feeds a leaf to the file hash: from slot `s` where it is (the slot is let go once hashed), or `bytes`. */
  private hashSlotOr(bytes: Uint8Array, s: number): void {
    if (s < 0) return void this.hash.update(bytes);
    if (!this.fileHash) {
      this.hash.update(bytes);
      return this.disown(s);
    }
    this.inflight++;
    this.feeding++;
    const hashed = () => {
      this.feeding--;
      this.disown(s);
      this.settle();
    };
    this.fileHash.updateInSlab(this.slab!.mem, this.slotOffset(s), bytes.byteLength).then(hashed, (err: Error) => {
      this.writeError ??= err;
      hashed();
    });
  }

  /** Feeds leaf `i` (its bytes in hand, in slot `s` or -1) to the file hash if it is its turn, else keeps it for then. */
  private hashInOrder(i: number, bytes: Uint8Array, s: number): void {
    if (i !== this.cursor) {
      this.early.set(i, s);
      return;
    }
    this.hashSlotOr(bytes, s);
    this.cursor++;
    for (let e = this.early.get(this.cursor); e !== undefined; e = this.early.get(this.cursor)) {
      this.early.delete(this.cursor);
      const leaf = this.leaves[this.cursor]!;
      if (e >= 0) this.hashSlotOr(this.slotBytes(e, leaf.size), e);
      else {
        if (!this.readBack || this.readBack.length < leaf.size) this.readBack = Buffer.allocUnsafe(Math.max(leaf.size, SLOT_BYTES));
        const b = this.readBack.subarray(0, leaf.size);
        for (let off = 0; off < leaf.size;) {
          const n = fs.readSync(this.fd, b, off, leaf.size - off, leaf.offset + off);
          if (n === 0) throw new Error(`short read at ${leaf.offset + off}`);
          off += n;
        }
        this.hash.update(b);
      }
      this.cursor++;
    }
  }
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return -1;
  }
}
