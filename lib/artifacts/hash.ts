import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * One streaming pass: sha256 on the calling thread (Node crypto, multi-MiB updates) and the IPFS
 * CIDv1 (unixfs-v1-2025) in a worker thread, so the two hashes use both cores.
 */

/** Bytes handed to the CID worker but not yet consumed; above this, `update` applies backpressure. */
const CID_WINDOW_BYTES = 32 * 1024 * 1024;

type Pending = {
  resolve: (cid: string) => void;
  reject: (err: Error) => void;
  inflight: number;
  drained: (() => void) | null;
};

class CidWorker {
  private worker: Worker;
  private jobs = new Map<number, Pending>();
  private nextId = 1;
  private dead = false;

  constructor() {
    this.worker = new Worker(new URL('./cid-worker.mjs', import.meta.url));
    this.worker.on('message', (m: { t: string; id: number; n?: number; cid?: string; message?: string }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      if (m.t === 'ack') {
        job.inflight -= m.n!;
        if (job.inflight <= CID_WINDOW_BYTES && job.drained) {
          const d = job.drained;
          job.drained = null;
          d();
        }
      } else if (m.t === 'done') {
        this.settle(m.id);
        job.resolve(m.cid!);
      } else if (m.t === 'error') {
        this.settle(m.id);
        job.reject(new Error(`cid computation failed: ${m.message}`));
      }
    });
    const fail = (err: Error) => {
      this.dead = true;
      for (const job of this.jobs.values()) {
        job.reject(err);
        job.drained?.();
      }
      this.jobs.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`cid worker exited with code ${code}`)));
    // Listeners ref the worker; it should keep the process alive only while a job is running.
    this.worker.unref();
  }

  private settle(id: number) {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker.unref();
  }

  get alive() {
    return !this.dead;
  }

  start(): CidJob {
    const id = this.nextId++;
    let resolve!: (cid: string) => void;
    let reject!: (err: Error) => void;
    const result = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {}); // observed by the caller through `finish`
    const pending: Pending = { resolve, reject, inflight: 0, drained: null };
    this.jobs.set(id, pending);
    this.worker.ref();
    this.worker.postMessage({ t: 'start', id });
    const worker = this.worker;
    return {
      push(buf: ArrayBuffer): Promise<void> | undefined {
        pending.inflight += buf.byteLength;
        worker.postMessage({ t: 'data', id, buf }, [buf]);
        if (pending.inflight > CID_WINDOW_BYTES) return new Promise<void>((r) => (pending.drained = r));
        return undefined;
      },
      finish() {
        worker.postMessage({ t: 'end', id });
        return result;
      },
      abort() {
        worker.postMessage({ t: 'abort', id });
      },
    };
  }
}

interface CidJob {
  /** Transfers `buf` to the worker (it is detached afterwards). Resolves when there is room again. */
  push(buf: ArrayBuffer): Promise<void> | undefined;
  finish(): Promise<string>;
  abort(): void;
}

let shared: CidWorker | undefined;
function cidWorker(): CidWorker {
  if (!shared || !shared.alive) shared = new CidWorker();
  return shared;
}

export interface ContentHashes {
  sha256: string;
  size: number;
  cid: string;
}

/**
 * Feed with whole ArrayBuffers that the caller gives up (they are transferred to the CID worker).
 */
export class StreamingHasher {
  private sha: Hash = createHash('sha256');
  private cid: CidJob = cidWorker().start();
  size = 0;

  /** Hashes `chunk` and hands its buffer to the CID worker; returns a promise only under backpressure. */
  update(chunk: Uint8Array & { buffer: ArrayBuffer }): Promise<void> | undefined {
    if (chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength) {
      throw new Error('StreamingHasher.update needs a chunk that owns its whole ArrayBuffer');
    }
    this.sha.update(chunk);
    this.size += chunk.byteLength;
    return this.cid.push(chunk.buffer);
  }

  async digest(): Promise<ContentHashes> {
    const sha256 = this.sha.digest('hex');
    const cid = await this.cid.finish();
    return { sha256, size: this.size, cid };
  }

  abort(): void {
    this.cid.abort();
    this.cid.finish().catch(() => {});
  }
}

const READ_BYTES = 8 * 1024 * 1024;

/** sha256 + CID of a file on disk, read in 8 MiB pieces. */
export async function hashFile(file: string): Promise<ContentHashes> {
  const fh = await fs.promises.open(file, 'r');
  const hasher = new StreamingHasher();
  try {
    for (;;) {
      const buf = new Uint8Array(new ArrayBuffer(READ_BYTES));
      const { bytesRead } = await fh.read(buf, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      const chunk = bytesRead === READ_BYTES ? buf : new Uint8Array(buf.buffer.slice(0, bytesRead));
      await hasher.update(chunk as Uint8Array & { buffer: ArrayBuffer });
    }
    return await hasher.digest();
  } catch (err) {
    hasher.abort();
    throw err;
  } finally {
    await fh.close();
  }
}

/** sha256 only (no CID), for integrity checks of stored blobs. */
export async function sha256File(file: string): Promise<string> {
  const fh = await fs.promises.open(file, 'r');
  const sha = createHash('sha256');
  const buf = Buffer.allocUnsafe(READ_BYTES);
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      sha.update(bytesRead === READ_BYTES ? buf : buf.subarray(0, bytesRead));
    }
    return sha.digest('hex');
  } finally {
    await fh.close();
  }
}

/** CID of in-memory bytes (small things: manifests, tests). */
export async function hashBytes(bytes: Uint8Array): Promise<ContentHashes> {
  const hasher = new StreamingHasher();
  const copy = new Uint8Array(new ArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  await hasher.update(copy as Uint8Array & { buffer: ArrayBuffer });
  return hasher.digest();
}
