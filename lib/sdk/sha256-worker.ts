import { Worker } from 'node:worker_threads';
import { copyBytes } from '../bytes.ts';

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
// A stream given a direct fd ('direct') is staged: its bytes are copied into a block-aligned 4 MiB
// buffer of this thread and written with O_DIRECT a whole stage at a time (page-cache writes cost
// this kind of machine 1.5-2 CPU s/GiB, direct ones ~0.1); a stage that starts inside a block is
// completed from the file first, and the tail of the last stage (under one block) goes through the
// page cache when the stream is flushed. The file still only ever holds a prefix of the stream.
const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ring = new Uint8Array(workerData.ring);
const consumed = new Int32Array(workerData.control);
const WRITTEN = 1;
const STAGE = 4 * 1024 * 1024;
const ALIGN = 4096;
/** Stages per stream: one filling while the others are written (one write in flight, in order). */
const MAX_STAGES = 3;
const failed = new Set();
const staged = new Map(); // stream id -> { dfd, fd, probe, stage, start, fill, open, free, count, queue, writing }
const spareStages = [];
let alignedBase = -1;
/** Messages not handled yet: a stream waiting for a free stage holds up the ones behind it (ring back-pressure). */
const backlog = [];
// lib/bytes.ts's copyBytes (a script string cannot import it): one memcpy out of the shared ring
function copyBytes(target, at, source) {
  if (source.length > 0) Buffer.from(target.buffer, target.byteOffset, target.byteLength).fill(source, at, at + source.length);
}
function writeAll(fd, bytes, off, len, pos) {
  for (let done = 0; done < len;) done += fs.writeSync(fd, bytes, off + done, len - done, pos + done);
}
// A block-aligned stage, or null where the probe file's file system refuses O_DIRECT. Alignment is
// found by probing: a one-block direct write fails with EINVAL until the memory is aligned.
function alignedStage(probe) {
  const spare = spareStages.pop();
  if (spare) return spare;
  let pfd;
  try {
    pfd = fs.openSync(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT, 0o600);
  } catch {
    return null;
  }
  try {
    const ab = new ArrayBuffer(STAGE + ALIGN);
    const bases = alignedBase >= 0 ? [alignedBase] : [];
    for (let b = 0; b < ALIGN; b += 8) if (b !== alignedBase) bases.push(b);
    for (const b of bases) {
      try {
        fs.writeSync(pfd, new Uint8Array(ab, b, ALIGN), 0, ALIGN, 0);
      } catch (err) {
        if (err.code === 'EINVAL') continue;
        return null;
      }
      alignedBase = b;
      return new Uint8Array(ab, b, STAGE);
    }
    return null;
  } finally {
    fs.closeSync(pfd);
    try { fs.unlinkSync(probe); } catch {}
  }
}
// The stream's queued stage writes, one at a time and in order (so the file stays a prefix of the
// stream), on the thread pool: this thread goes on taking bytes from the ring meanwhile.
function pump(id, d) {
  if (d.writing || d.queue.length === 0) return;
  const w = d.queue.shift();
  d.writing = true;
  fs.write(d.dfd, w.stage, 0, w.n, w.pos, (err, n) => {
    d.writing = false;
    if (!failed.has(id)) {
      try {
        if (err && err.code !== 'EINVAL') throw err;
        // a refused direct write (EINVAL) through the page cache; a short one finished synchronously
        if (err) writeAll(d.fd, w.stage, 0, w.n, w.pos);
        else if (n < w.n) writeAll(d.dfd, w.stage, n, w.n - n, w.pos + n);
      } catch (e) {
        fail(id, e);
      }
    }
    if (failed.has(id)) spareStages.push(w.stage);
    else d.free.push(w.stage);
    pump(id, d);
    drain();
  });
}
function release(d) {
  for (const stage of d.free) spareStages.push(stage);
  d.free = [];
}
// Writes what the current stage holds (once the queue is written): whole blocks direct, the rest
// (under one block) through the page cache.
function flushStage(d) {
  if (!d.open) return;
  d.open = false;
  const aligned = d.fill - (d.fill % ALIGN);
  try {
    if (aligned > 0) writeAll(d.dfd, d.stage, 0, aligned, d.start);
  } catch (err) {
    if (err.code !== 'EINVAL') throw err;
    writeAll(d.fd, d.stage, 0, aligned, d.start);
  }
  if (d.fill > aligned) writeAll(d.fd, d.stage, aligned, d.fill - aligned, d.start + aligned);
  d.fill = 0;
}
// Copies a ring piece into the stream's stage; false (nothing taken) while no stage is free.
function put(id, d, fd, off, len, pos) {
  d.fd = fd;
  if (d.open && pos !== d.start + d.fill) {
    // not where the stage left off: the queue first, then this stage, synchronously
    if (d.writing || d.queue.length > 0) return false;
    flushStage(d);
  }
  if (!d.open) {
    d.start = pos - (pos % ALIGN);
    d.fill = pos - d.start;
    // the block's bytes before pos are in the file already (a resumed prefix): direct writes are whole blocks
    for (let got = 0; got < d.fill;) {
      const n = fs.readSync(fd, d.stage, got, d.fill - got, d.start + got);
      if (n === 0) throw Object.assign(new Error('part file shorter than its resume offset'), { code: 'EIO' });
      got += n;
    }
    d.open = true;
  }
  // a piece is at most half the ring (1 MiB): it never fills more than one stage
  if (d.fill + len >= STAGE && d.free.length === 0) {
    const stage = d.count < MAX_STAGES ? alignedStage(d.probe) : null;
    if (stage) {
      d.free.push(stage);
      d.count++;
    } else if (d.writing || d.queue.length > 0) return false; // a write in flight frees a stage
    // else (no further stage could be made: the probe failed) the full stage is written synchronously below
  }
  const first = Math.min(len, STAGE - d.fill);
  copyBytes(d.stage, d.fill, ring.subarray(off, off + first));
  d.fill += first;
  if (d.fill === STAGE) {
    const next = d.free.pop();
    if (next) {
      d.queue.push({ stage: d.stage, n: STAGE, pos: d.start });
      d.stage = next;
    } else {
      try {
        writeAll(d.dfd, d.stage, 0, STAGE, d.start);
      } catch (err) {
        if (err.code !== 'EINVAL') throw err;
        writeAll(d.fd, d.stage, 0, STAGE, d.start);
      }
    }
    d.start += STAGE;
    d.fill = 0;
    if (first < len) {
      copyBytes(d.stage, 0, ring.subarray(off + first, off + len));
      d.fill = len - first;
    }
    pump(id, d);
  }
  return true;
}
function fail(id, err) {
  if (failed.has(id)) return;
  failed.add(id);
  const d = staged.get(id);
  if (d) {
    staged.delete(id);
    if (d.stage) d.free.push(d.stage);
    release(d);
  }
  parentPort.postMessage({ id, error: { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, path: err.path } });
}
// Handles the backlog in order; stops at a message that must wait for a stage write to finish.
function drain() {
  while (backlog.length > 0) {
    const m = backlog[0];
    if (m.op === 'data') {
      if (m.fd >= 0 && !failed.has(m.id)) {
        try {
          const d = staged.get(m.id);
          if (d) {
            if (!put(m.id, d, m.fd, m.off, m.len, m.pos)) return;
          } else writeAll(m.fd, ring, m.off, m.len, m.pos);
        } catch (err) {
          fail(m.id, err);
        }
      }
      Atomics.add(consumed, WRITTEN, m.len);
      Atomics.notify(consumed, WRITTEN);
    } else if (m.op === 'direct') {
      const stage = failed.has(m.id) ? null : alignedStage(m.probe);
      if (stage) staged.set(m.id, { dfd: m.dfd, fd: -1, probe: m.probe, stage, start: 0, fill: 0, open: false, free: [], count: 1, queue: [], writing: false });
    } else if (m.op === 'flush') {
      // the stage is written out and given back: bytes of this stream after a flush go through the page cache
      const d = staged.get(m.id);
      if (d && !failed.has(m.id)) {
        if (d.writing || d.queue.length > 0) return;
        try {
          flushStage(d);
          staged.delete(m.id);
          d.free.push(d.stage);
          release(d);
        } catch (err) {
          fail(m.id, err);
        }
      }
      parentPort.postMessage({ id: m.id, flushed: m.flush });
    }
    backlog.shift();
  }
}
parentPort.on('message', (m) => {
  backlog.push(m);
  if (backlog.length === 1) drain();
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
  /**
   * Has this stream's later writes staged and made with O_DIRECT through `directFd` (the same file
   * as their `fd`, opened O_WRONLY | O_DIRECT), whole 4 MiB stages at a time; `probe` is a path
   * beside the file for the one-block alignment probe (created and removed). Where the file system
   * refuses direct I/O the writes stay buffered. `written()` writes the last stage out and ends the
   * staging; `directFd` must stay open until it has settled.
   */
  writeDirect(directFd: number, probe: string): void;
  /** Resolves when every write queued so far is done; rejects with this stream's first write error, if any. */
  written(): Promise<void>;
}

export class Sha256Worker {
  /** Started by the first bytes or digest: a pull whose files all hash elsewhere (IPFS slots) needs no thread. */
  private hasher: Worker | null = null;
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
  }

  private get worker(): Worker {
    if (this.hasher) return this.hasher;
    const worker = this.start(WORKER_SOURCE, 'sha256 worker', (err) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
    worker.on('message', (m: { id: number; hex: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      w?.resolve(m.hex);
    });
    return (this.hasher = worker);
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
      writeDirect: (directFd, probe) => {
        check();
        this.writer ??= this.startWriter();
        this.writer.postMessage({ op: 'direct', id, dfd: directFd, probe });
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
        this.hasher?.postMessage({ op: 'drop', id }); // no thread yet: it has nothing of this stream
      },
    };
  }

  /** Stops the workers; hashes not yet digested and writes not yet confirmed fail. */
  async close(): Promise<void> {
    this.failure ??= new Error('sha256 worker closed');
    await Promise.all([this.hasher?.terminate(), this.writer?.terminate()]);
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
      copyBytes(this.ring, at, bytes.subarray(done, done + len));
      this.worker.postMessage({ op: 'data', id, off: at, len });
      this.writer?.postMessage({ op: 'data', id, off: at, len, fd, pos: position + done });
      this.produced = (this.produced + len) | 0;
      done += len;
    }
  }
}
