import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';

// sha256 off the main thread, so receiving and hashing a download overlap on two cores (the whole
// point of beating "curl, then openssl dgst"). Chunks are copied into 4 MiB batches whose buffers are
// transferred (not cloned) to the worker. Small files hash inline: a worker costs a few ms to start.

const BATCH = 4 * 1024 * 1024;
const MAX_IN_FLIGHT = 8; // ≤ 32 MiB queued for the worker before the download pauses

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
let h = crypto.createHash('sha256');
parentPort.on('message', (m) => {
  try {
    if (m.t === 'd') { h.update(new Uint8Array(m.b, 0, m.n)); parentPort.postMessage({ t: 'ack' }); }
    else if (m.t === 'f') {
      if (m.n > 0) {
        const fd = fs.openSync(m.p, 'r');
        const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
        let off = 0;
        while (off < m.n) { const r = fs.readSync(fd, buf, 0, Math.min(buf.length, m.n - off), off); if (r <= 0) break; h.update(buf.subarray(0, r)); off += r; }
        fs.closeSync(fd);
      }
      parentPort.postMessage({ t: 'ack' });
    }
    else if (m.t === 'e') { parentPort.postMessage({ t: 'digest', v: h.digest('hex') }); h = crypto.createHash('sha256'); }
  } catch (err) { parentPort.postMessage({ t: 'error', v: String(err && err.message || err) }); }
});
`;

export interface StreamHasher {
  /** Hashes the first `bytes` of `file` (a partial download being resumed). */
  prefix(file: string, bytes: number): Promise<void>;
  update(chunk: Buffer): void;
  /** True while the worker is behind; wait with onDrain before feeding more. */
  readonly backlogged: boolean;
  onDrain(cb: () => void): void;
  digest(): Promise<string>;
  close(): void;
}

class InlineHasher implements StreamHasher {
  private h = crypto.createHash('sha256');
  readonly backlogged = false;
  async prefix(file: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    const fs = await import('node:fs');
    const rs = fs.createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: 8 * 1024 * 1024 });
    for await (const c of rs) this.h.update(c as Buffer);
  }
  update(chunk: Buffer): void {
    this.h.update(chunk);
  }
  onDrain(cb: () => void): void {
    cb();
  }
  async digest(): Promise<string> {
    return this.h.digest('hex');
  }
  close(): void {}
}

class WorkerHasher implements StreamHasher {
  private worker = new Worker(WORKER_SOURCE, { eval: true });
  private batch = Buffer.allocUnsafeSlow(BATCH);
  private fill = 0;
  private inFlight = 0;
  private drainCbs: (() => void)[] = [];
  private ackWaiters: (() => void)[] = [];
  private digestWaiter: ((v: string) => void) | null = null;
  private failure: Error | null = null;

  constructor() {
    this.worker.on('message', (m: { t: string; v?: string }) => {
      if (m.t === 'ack') {
        this.inFlight--;
        this.ackWaiters.shift()?.();
        if (this.inFlight < MAX_IN_FLIGHT / 2) for (const cb of this.drainCbs.splice(0)) cb();
      } else if (m.t === 'digest') {
        this.digestWaiter?.(m.v!);
      } else if (m.t === 'error') {
        this.failure = new Error(`hash worker: ${m.v}`);
      }
    });
    this.worker.on('error', (e) => (this.failure = e));
    this.worker.unref();
  }
  get backlogged(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }
  onDrain(cb: () => void): void {
    if (!this.backlogged) cb();
    else this.drainCbs.push(cb);
  }
  prefix(file: string, bytes: number): Promise<void> {
    this.inFlight++;
    const p = new Promise<void>((r) => this.ackWaiters.push(r));
    this.worker.postMessage({ t: 'f', p: file, n: bytes });
    return p;
  }
  private flush(): void {
    if (this.fill === 0) return;
    const buf = this.batch;
    this.inFlight++;
    this.ackWaiters.push(() => {});
    this.worker.postMessage({ t: 'd', b: buf.buffer, n: this.fill }, [buf.buffer as ArrayBuffer]);
    this.batch = Buffer.allocUnsafeSlow(BATCH);
    this.fill = 0;
  }
  update(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(BATCH - this.fill, chunk.length - off);
      chunk.copy(this.batch, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === BATCH) this.flush();
    }
  }
  digest(): Promise<string> {
    this.flush();
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.digestWaiter = resolve;
      this.worker.postMessage({ t: 'e' });
    });
  }
  close(): void {
    void this.worker.terminate();
  }
}

/** A hasher suited to `size` bytes: a worker thread for big files, inline for small ones. */
export function createHasher(size: number): StreamHasher {
  if (size >= 32 * 1024 * 1024 && process.env.MODELDAO_HASH_WORKER !== '0') return new WorkerHasher();
  return new InlineHasher();
}
