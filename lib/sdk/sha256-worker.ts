import { Worker } from 'node:worker_threads';

// sha256 on another thread, so that a pull's one main thread only receives and writes while the
// hashing (the largest CPU cost of a verified download) runs on the second core. Bytes travel through
// one shared ring (a copy: cheaper than keeping socket buffers alive), and the worker
// hands the space back through a shared counter; a producer that finds the ring full waits for it
// (Atomics.wait), which is the back-pressure: the socket is not read while the hasher lags behind.
// Chunks are hashed in the order they were given, per stream.
// Not lib/artifacts/hash.ts's StreamingHasher: that one always computes the CID too (a second
// worker's worth of CPU) and loads its worker from a file next to the module, which the CLI's
// esbuild bundle does not carry.

// The worker is a script string (eval) rather than a file: the CLI runs as one esbuild bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const ring = new Uint8Array(workerData.ring);
const consumed = new Int32Array(workerData.control);
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'data') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = crypto.createHash('sha256')));
    h.update(ring.subarray(m.off, m.off + m.len));
    Atomics.add(consumed, 0, m.len);
    Atomics.notify(consumed, 0);
  } else if (m.op === 'end') {
    const h = hashes.get(m.id) ?? crypto.createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  }
});
`;

// Small enough to stay in the caches the two threads pass it through: the copy into the ring cost the
// main thread ~3x more CPU with 16 MiB than with 1-2 MiB (perf, 1 GiB pulls). Two socket reads' worth.
const DEFAULT_RING = 2 * 1024 * 1024;
/** A full ring that frees nothing for this long means the worker is gone. */
const STALL_MS = 30_000;

/** One streaming sha256 computed by a Sha256Worker. */
export interface OffThreadHash {
  /** Queues `bytes` (copied: the caller may reuse them at once). Blocks while the ring is full. */
  update(bytes: Uint8Array): void;
  /** The hex digest of everything queued; the hash cannot be used afterwards. */
  digest(): Promise<string>;
  /** Forgets this hash (its queued bytes are still consumed). */
  discard(): void;
}

export class Sha256Worker {
  private readonly worker: Worker;
  private readonly ring: Uint8Array;
  private readonly consumed: Int32Array;
  /** Bytes queued so far, modulo 2^32 like the worker's Int32 counter. */
  private produced = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  private failure: Error | null = null;

  constructor(ringBytes = DEFAULT_RING) {
    // A power of two: ring offsets stay right when the 32-bit byte counters wrap.
    if (ringBytes < 2 || (ringBytes & (ringBytes - 1)) !== 0) throw new RangeError(`ring size ${ringBytes} is not a power of two`);
    const ring = new SharedArrayBuffer(ringBytes);
    const control = new SharedArrayBuffer(4);
    this.ring = new Uint8Array(ring);
    this.consumed = new Int32Array(control);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring, control } });
    // Keeps the process alive only while a digest is awaited (nothing else may be left by then).
    this.worker.unref();
    this.worker.on('message', (m: { id: number; hex: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      w?.resolve(m.hex);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const w of this.waiting.values()) w.reject(this.failure);
      this.waiting.clear();
    };
    this.worker.on('error', (err) => fail(new Error(`sha256 worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`sha256 worker exited (code ${code})`)));
  }

  hash(): OffThreadHash {
    const id = this.nextId++;
    let open = true;
    const check = () => {
      if (this.failure) throw this.failure;
      if (!open) throw new Error('sha256 stream already finished');
    };
    return {
      update: (bytes) => {
        check();
        // Pieces no larger than half the ring, so that each fits once the worker has caught up.
        const max = this.ring.length >>> 1;
        for (let off = 0; off < bytes.length; off += max) this.queue(id, bytes.subarray(off, Math.min(bytes.length, off + max)));
      },
      digest: () => {
        check();
        open = false;
        return new Promise<string>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          this.worker.ref();
          this.worker.postMessage({ op: 'end', id });
        });
      },
      discard: () => {
        if (!open || this.failure) return;
        open = false;
        this.worker.postMessage({ op: 'drop', id });
      },
    };
  }

  /** Stops the worker; hashes not yet digested fail. */
  async close(): Promise<void> {
    this.failure ??= new Error('sha256 worker closed');
    await this.worker.terminate();
  }

  private queue(id: number, bytes: Uint8Array): void {
    const size = this.ring.length;
    const n = bytes.length;
    if (n === 0) return;
    for (let since = performance.now(); ;) {
      const seen = Atomics.load(this.consumed, 0);
      if (((this.produced - seen) >>> 0) + n <= size) break;
      Atomics.wait(this.consumed, 0, seen, 1000);
      if (this.failure) throw this.failure;
      if (Atomics.load(this.consumed, 0) !== seen) since = performance.now();
      else if (performance.now() - since > STALL_MS) throw new Error(`sha256 worker made no progress for ${STALL_MS / 1000} s`);
    }
    // Contiguous pieces: the tail of the ring, then its head.
    let done = 0;
    while (done < n) {
      const at = (this.produced >>> 0) % size;
      const len = Math.min(n - done, size - at);
      this.ring.set(bytes.subarray(done, done + len), at);
      this.worker.postMessage({ op: 'data', id, off: at, len });
      this.produced = (this.produced + len) | 0;
      done += len;
    }
  }
}
