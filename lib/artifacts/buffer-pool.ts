// Buffers for bytes read from blob files and handed to a socket, reused once the socket is done with
// them (the write's callback). A fresh buffer per read is external memory to V8: serving a GiB in
// fresh 1 MiB or 256 KiB buffers made the server start a full mark-compact every few dozen MiB, and
// that GC was most of the IPFS gateway's CPU per GiB (the same cause as in lib/server/send-file.ts).

export class BufferPool {
  private readonly free: Buffer[] = [];

  /** Buffers of `size` bytes; at most `keep` of them wait for reuse, the rest are left to the GC. */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of at least `n` bytes: a free one of the pool when `n` fits, else a new one. */
  take(n: number): Buffer {
    if (n > this.size) return Buffer.allocUnsafeSlow(n);
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Gives `b` back: only once nothing holds it any more (after the socket write's callback), and once. */
  give(b: Buffer): void {
    if (b.length === this.size && this.free.length < this.keep) this.free.push(b);
  }
}

/** Blocks of the IPFS gateway (leaves are at most 1 MiB in modeldao's import profile). */
export const blockBuffers = new BufferPool(1024 * 1024, 16);
