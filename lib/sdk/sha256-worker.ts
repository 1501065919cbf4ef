import { Worker } from 'node:worker_threads';

// sha256 on another thread, so that a pull's one main thread only receives while the hashing (the
// largest CPU cost of a verified download) runs on the second core. Bytes travel through one shared
// ring (a copy: cheaper than keeping socket buffers alive), and the worker hands the space back
// through a shared counter; a producer that finds the ring full waits for it (Atomics.wait), which is
// the back-pressure: the socket is not read while the hasher lags behind.
// Chunks are hashed in the order they were given, per stream.
// A stream may also write its bytes to a file (`updateAndWrite`): a second worker takes them from the
// same ring and pwrite()s them, in order, so the part file only ever holds a prefix of the stream.
// The write (the kernel's copy into the page cache) was the main thread's largest cost (perf, 512 MiB
// pulls: ~2/3 of its samples); on its own thread it runs beside both the receive and the hash.
// Not lib/artifacts/hash.ts's StreamingHasher: that one always computes the CID too (a second
// worker's worth of CPU) and loads its worker from a file next to the module, which the CLI's
// esbuild bundle does not carry.

// The worker is a script string (eval) rather than a file: the CLI runs as one esbuild bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const ring = new Uint8Array(workerData.ring);
const consumed = new Int32Array(workerData.control);
const HASHED = 0;
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'data') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = crypto.createHash('sha256')));
    h.update(ring.subarray(m.off, m.off + m.len));
    Atomics.add(consumed, HASHED, m.len);
    Atomics.notify(consumed, HASHED);
  } else if (m.op === 'end') {
    const h = hashes.get(m.id) ?? crypto.createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  }
});
`;

// The writer: every ring piece comes here too (in the same order as to the hasher); pieces with an
// fd are written at their position, the others only released. After a failed write the stream's
// later pieces are released unwritten (the file keeps its prefix) and the error goes back once.
const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ring = new Uint8Array(workerData.ring);
const consumed = new Int32Array(workerData.control);
const WRITTEN = 1;
const failed = new Set();
parentPort.on('message', (m) => {
  if (m.op === 'data') {
    if (m.fd >= 0 && !failed.has(m.id)) {
      try {
        for (let done = 0; done < m.len;) done += fs.writeSync(m.fd, ring, m.off + done, m.len - done, m.pos + done);
      } catch (err) {
        failed.add(m.id);
        parentPort.postMessage({ id: m.id, error: { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, path: err.path } });
      }
    }
    Atomics.add(consumed, WRITTEN, m.len);
    Atomics.notify(consumed, WRITTEN);
  } else if (m.op === 'flush') {
    parentPort.postMessage({ id: m.id, flushed: m.flush });
  }
});
`;

// Small enough to stay in the caches the two threads pass it through: the copy into the ring cost the
// main thread ~3x more CPU with 16 MiB than with 1-2 MiB (perf, 1 GiB pulls). Two socket reads' worth.
const DEFAULT_RING = 2 * 1024 * 1024;
/** Indexes of the consumers' counters in the control array (the worker sources use the same). */
const HASHED = 0;
const WRITTEN = 1;
/** What the writer sends back of a failed write: enough to rebuild a Node errno error. */
type WriteErrorFields = { message: string; code?: string; errno?: number; syscall?: string; path?: string };
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

/** A Sha256Worker's hash, which can also write the bytes it is given to a file off the main thread. */
export interface OffThreadHashWriter extends OffThreadHash {
  /**
   * Queues `bytes` like `update`, and has them written to `fd` at `position` by the writer thread,
   * in the order given. `fd` must stay open until `written()` has settled. Throws the first write
   * error of this stream once it is known (a Node errno error: ENOSPC, EIO, …).
   */
  updateAndWrite(bytes: Uint8Array, fd: number, position: number): void;
  /** Resolves when every write queued so far is done; rejects with this stream's first write error, if any. */
  written(): Promise<void>;
}

export class Sha256Worker {
  private readonly worker: Worker;
  /** Started by the first `updateAndWrite`: a pull that writes nothing through it needs no third thread. */
  private writer: Worker | null = null;
  private readonly ringBuffer: SharedArrayBuffer;
  private readonly controlBuffer: SharedArrayBuffer;
  private readonly ring: Uint8Array;
  /** Bytes each consumer has released: [HASHED] by the hasher, [WRITTEN] by the writer. */
  private readonly consumed: Int32Array;
  /** Bytes queued so far, modulo 2^32 like the workers' Int32 counters. */
  private produced = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  /** written() calls waiting for the writer, by their own number (the flush message's). */
  private readonly flushing = new Map<number, { id: number; resolve: () => void; reject: (err: Error) => void }>();
  private nextFlush = 1;
  /** The first write error of each stream that had one, as the writer reported it (a few per pull at most). */
  private readonly writeErrors = new Map<number, Error>();
  private failure: Error | null = null;
  /** Set once the writer has stopped: no write of it is pending any more. */
  private writerGone: Error | null = null;

  constructor(ringBytes = DEFAULT_RING) {
    // A power of two: ring offsets stay right when the 32-bit byte counters wrap.
    if (ringBytes < 2 || (ringBytes & (ringBytes - 1)) !== 0) throw new RangeError(`ring size ${ringBytes} is not a power of two`);
    this.ringBuffer = new SharedArrayBuffer(ringBytes);
    this.controlBuffer = new SharedArrayBuffer(8);
    this.ring = new Uint8Array(this.ringBuffer);
    this.consumed = new Int32Array(this.controlBuffer);
    this.worker = this.start(WORKER_SOURCE, 'sha256 worker', (err) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
    this.worker.on('message', (m: { id: number; hex: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      w?.resolve(m.hex);
    });
  }

  hash(): OffThreadHashWriter {
    const id = this.nextId++;
    let open = true;
    const check = () => {
      if (this.failure) throw this.failure;
      if (!open) throw new Error('sha256 stream already finished');
    };
    const queueAll = (bytes: Uint8Array, fd: number, position: number) => {
      // Pieces no larger than half the ring, so that each fits once the workers have caught up.
      const max = this.ring.length >>> 1;
      for (let off = 0; off < bytes.length; off += max) this.queue(id, bytes.subarray(off, Math.min(bytes.length, off + max)), fd, position + off);
    };
    return {
      update: (bytes) => {
        check();
        queueAll(bytes, -1, 0);
      },
      updateAndWrite: (bytes, fd, position) => {
        check();
        const failed = this.writeErrors.get(id);
        if (failed) throw failed;
        this.writer ??= this.startWriter();
        queueAll(bytes, fd, position);
      },
      written: () => {
        // Waits for the writer even when the hasher has failed: the caller closes the fd next, and a
        // write still queued would otherwise land in whatever file reuses that fd number.
        const writer = this.writer;
        if (!writer) return Promise.resolve();
        if (this.writerGone) return Promise.reject(this.writerGone);
        return new Promise<void>((resolve, reject) => {
          const flush = this.nextFlush++;
          this.flushing.set(flush, { id, resolve, reject });
          writer.ref();
          writer.postMessage({ op: 'flush', id, flush });
        });
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

  /** Stops the workers; hashes not yet digested and writes not yet confirmed fail. */
  async close(): Promise<void> {
    this.failure ??= new Error('sha256 worker closed');
    await Promise.all([this.worker.terminate(), this.writer?.terminate()]);
  }

  /**
   * A worker on the shared ring that keeps the process alive only while an answer is awaited.
   * `gone` fails the answers still awaited from it when it stops.
   */
  private start(source: string, name: string, gone: (err: Error) => void): Worker {
    const worker = new Worker(source, { eval: true, workerData: { ring: this.ringBuffer, control: this.controlBuffer } });
    worker.unref();
    const fail = (err: Error) => {
      this.failure ??= err;
      gone(err);
    };
    worker.on('error', (err) => fail(new Error(`${name} failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`${name} exited (code ${code})`)));
    return worker;
  }

  private startWriter(): Worker {
    // Everything queued before the writer existed counts as released by it.
    Atomics.store(this.consumed, WRITTEN, this.produced);
    const writer = this.start(WRITER_SOURCE, 'file writer worker', (err) => {
      this.writerGone ??= err;
      for (const w of this.flushing.values()) w.reject(err);
      this.flushing.clear();
    });
    writer.on('message', (m: { id: number; error?: WriteErrorFields; flushed?: number }) => {
      if (m.error) {
        if (!this.writeErrors.has(m.id)) this.writeErrors.set(m.id, Object.assign(new Error(m.error.message), m.error));
        return;
      }
      const w = this.flushing.get(m.flushed!);
      this.flushing.delete(m.flushed!);
      if (this.flushing.size === 0) writer.unref();
      const err = this.writeErrors.get(m.id);
      if (err) w?.reject(err);
      else w?.resolve();
    });
    return writer;
  }

  private queue(id: number, bytes: Uint8Array, fd: number, position: number): void {
    const size = this.ring.length;
    const n = bytes.length;
    if (n === 0) return;
    // Room once the slowest consumer (the hasher, or the writer if there is one) has released enough.
    const counters = this.writer ? [HASHED, WRITTEN] : [HASHED];
    for (let since = performance.now(); ;) {
      let slowest = HASHED;
      let lag = 0;
      for (const c of counters) {
        const l = (this.produced - Atomics.load(this.consumed, c)) >>> 0;
        if (l >= lag) [slowest, lag] = [c, l];
      }
      if (lag + n <= size) break;
      const seen = Atomics.load(this.consumed, slowest);
      Atomics.wait(this.consumed, slowest, seen, 1000);
      if (this.failure) throw this.failure;
      if (Atomics.load(this.consumed, slowest) !== seen) since = performance.now();
      else if (performance.now() - since > STALL_MS) throw new Error(`sha256 worker or file writer made no progress for ${STALL_MS / 1000} s`);
    }
    // Contiguous pieces: the tail of the ring, then its head.
    let done = 0;
    while (done < n) {
      const at = (this.produced >>> 0) % size;
      const len = Math.min(n - done, size - at);
      this.ring.set(bytes.subarray(done, done + len), at);
      this.worker.postMessage({ op: 'data', id, off: at, len });
      this.writer?.postMessage({ op: 'data', id, off: at, len, fd, pos: position + done });
      this.produced = (this.produced + len) | 0;
      done += len;
    }
  }
}
