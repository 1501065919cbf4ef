import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { copyBytes } from '../bytes.ts';

// An incremental CARv1 reader (ipld.io/specs/transport/car/carv1) for the pull over IPFS: chunks of
// an HTTP body go in, whole blocks come out, each block's bytes in one buffer of its length (copied
// into once as chunks arrive: no concatenation of the body, no per-chunk objects). That buffer is
// the reader's own and is reused for the next block: a block is only valid during the callback that
// gets it, so a pull allocates no buffer per block (garbage collection of 1 MiB buffers was a large
// part of the pull's CPU). Verifying the blocks is the caller's job; this only frames them. A
// section header that straddles two chunks is joined from at most MAX_HEAD bytes of the next one.

/** A section header (varint length + CID) is far smaller than this; more without one is malformed. */
const MAX_HEAD = 512;
/** The CAR header (dag-cbor {roots, version}) of a gateway answer is small. */
const MAX_CAR_HEADER = 64 * 1024;

export class CarFormatError extends Error {}

/** Gets each block in stream order; `bytes` is only valid during the call (the reader reuses it). */
export type OnCarBlock = (cid: CID, bytes: Buffer) => void;

/**
 * Where a block's bytes should go, asked as its section starts: a buffer of exactly `length` bytes
 * (the block is copied into it and handed to OnCarBlock as that very buffer), or null for the
 * reader's own. Saves a copy when the consumer keeps the bytes anyway (the pull's slots).
 */
export type PlaceCarBlock = (cid: CID, length: number) => Buffer | null;

/** A varint at `pos`: [value, next position], or null when `buf` ends inside it. */
function readVarint(buf: Uint8Array, pos: number): [number, number] | null {
  let value = 0;
  let mul = 1;
  for (let i = pos; i < buf.length; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, i + 1];
    mul *= 128;
    if (i - pos >= 8) throw new CarFormatError('varint longer than 9 bytes');
  }
  return null;
}

interface Head {
  /** bytes of `buf` the header took */
  used: number;
  /** null for the CAR header */
  cid: CID | null;
  dataLength: number;
}

export class CarReader {
  private carry: Buffer | null = null;
  private block: Buffer | null = null;
  /** the memory `block` lives in, reused from block to block (grown to the largest block so far) */
  private scratch: Buffer | null = null;
  private blockCid: CID | null = null;
  private fill = 0;
  private sawHeader = false;
  /** bytes of the current (unfinished) block so far, and its length: for "ended inside block X" */
  get partial(): { cid: CID | null; got: number; of: number } | null {
    if (this.block) return { cid: this.blockCid, got: this.fill, of: this.block.length };
    if (this.carry && this.carry.length > 0) return { cid: null, got: this.carry.length, of: NaN };
    return null;
  }

  constructor(
    private readonly maxBlockBytes: number,
    private readonly place?: PlaceCarBlock,
  ) {}

  private head(buf: Buffer, pos: number): Head | null {
    const len = readVarint(buf, pos);
    if (!len) return null;
    const [sectionLength, at] = len;
    if (!this.sawHeader) {
      if (sectionLength === 0 || sectionLength > MAX_CAR_HEADER) throw new CarFormatError(`CAR header of ${sectionLength} bytes`);
      return { used: at - pos, cid: null, dataLength: sectionLength };
    }
    // the CID: v0 is a bare sha2-256 multihash (0x12 0x20 + 32 bytes); v1 is version, codec, multihash
    let end: number;
    if (buf[at] === 0x12 && at + 1 < buf.length && buf[at + 1] === 0x20) end = at + 34;
    else {
      let p = at;
      for (let k = 0; k < 3; k++) {
        const v = readVarint(buf, p);
        if (!v) return null;
        p = v[1];
      }
      const digestLength = readVarint(buf, p);
      if (!digestLength) return null;
      end = digestLength[1] + digestLength[0];
      if (digestLength[0] > 128) throw new CarFormatError(`multihash digest of ${digestLength[0]} bytes`);
    }
    if (end > buf.length) return null;
    let cid: CID;
    try {
      // a copy: the CID keeps views of the bytes it is decoded from, and chunks may be reused
      cid = CID.decode(Uint8Array.prototype.slice.call(buf, at, end));
    } catch (err) {
      throw new CarFormatError(`unreadable CID in a CAR section: ${(err as Error).message}`);
    }
    const dataLength = sectionLength - (end - at);
    if (dataLength < 0) throw new CarFormatError(`CAR section of ${sectionLength} bytes is shorter than its CID`);
    if (dataLength > this.maxBlockBytes) throw new CarFormatError(`block ${cid} of ${dataLength} bytes is over the ${this.maxBlockBytes}-byte block limit`);
    return { used: end - pos, cid, dataLength };
  }

  private start(h: Head, out: OnCarBlock) {
    // the CAR header is decoded into an object that may keep views of its bytes: its own buffer
    if (h.cid === null) this.block = Buffer.allocUnsafe(h.dataLength);
    else {
      const placed = h.dataLength > 0 ? this.place?.(h.cid, h.dataLength) : null;
      if (placed && placed.length === h.dataLength) this.block = placed;
      else {
        if (!this.scratch || this.scratch.length < h.dataLength) this.scratch = Buffer.allocUnsafe(h.dataLength);
        this.block = this.scratch.subarray(0, h.dataLength);
      }
    }
    this.blockCid = h.cid;
    this.fill = 0;
    if (h.dataLength === 0) this.finish(out);
  }

  private finish(out: OnCarBlock) {
    const bytes = this.block!;
    const cid = this.blockCid;
    this.block = null;
    this.blockCid = null;
    if (cid === null) {
      let header: { version?: unknown };
      try {
        header = dagCbor.decode(bytes);
      } catch (err) {
        throw new CarFormatError(`unreadable CAR header: ${(err as Error).message}`);
      }
      if (header?.version !== 1) throw new CarFormatError(`CAR version ${String(header?.version)}, not 1`);
      this.sawHeader = true;
    } else out(cid, bytes);
  }

  /** Hands the blocks that `chunk` completes to `out`, in stream order; what `out` throws ends the push. */
  push(chunk: Buffer, out: OnCarBlock): void {
    let off = 0;
    if (this.carry) {
      const joined = Buffer.concat([this.carry, chunk.subarray(0, MAX_HEAD)]);
      const h = this.head(joined, 0);
      if (!h) {
        if (joined.length >= MAX_HEAD) throw new CarFormatError('malformed CAR section header');
        this.carry = joined;
        return;
      }
      off = h.used - this.carry.length;
      this.carry = null;
      this.start(h, out);
    }
    while (off < chunk.length) {
      if (this.block) {
        const k = Math.min(this.block.length - this.fill, chunk.length - off);
        copyBytes(this.block, this.fill, chunk.subarray(off, off + k));
        this.fill += k;
        off += k;
        if (this.fill === this.block.length) this.finish(out);
        continue;
      }
      const h = this.head(chunk, off);
      if (!h) {
        this.carry = Buffer.from(chunk.subarray(off)); // a copy: do not keep the whole chunk alive
        break;
      }
      off += h.used;
      this.start(h, out);
    }
  }

  /** The stream ended: true when it ended between blocks (after the CAR header). */
  get clean(): boolean {
    return this.sawHeader && this.block === null && (this.carry === null || this.carry.length === 0);
  }
}
