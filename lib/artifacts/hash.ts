import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { copyBytes } from '../bytes.ts';

/**
 * One streaming pass, two hashes, off the calling thread: the file's sha256 and the IPFS CIDv1
 * (unixfs-v1-2025), in one worker that reads each piece once for both, or split over two workers
 * (see `SPLIT_HASHES`). The caller (the upload request's event loop) receives and copies bytes,
 * and when the ring is full (the worker is the slower side) hashes some leaves for the CID itself
 * instead of waiting (`steal`); concurrent jobs are spread over a few workers, so they use every core.
 */

/**
 * Each hashing job owns a ring of slots × SLOT_BYTES in a SharedArrayBuffer: the caller fills a
 * slot, the worker reads it in place (no copy, no transfer) and releases it when done. Memory per
 * job is constant (32 MiB by default), and the pages are reused instead of faulting in fresh buffers for
 * every batch. (1 MiB and 512 KiB slots measured no cheaper for the upload path: more, smaller
 * direct writes and messages.)
 */
export const SLOT_BYTES = 4 * 1024 * 1024;
/** Slots per ring unless the caller asks for fewer or more (`StreamingHasher`'s `slots`). */
const SLOTS = 8;
/**
 * Spare bytes in front of the ring so its slots can start at any alignment a caller needs (O_DIRECT
 * writes want block-aligned memory; the allocator gives 16-byte alignment). See `setBase`.
 */
export const RING_SLACK = 4096;

export interface Slot {
  index: number;
  /** the slot's memory (SLOT_BYTES long) */
  bytes: Buffer;
}

/** A dag-pb node of a file's DAG as the worker built it: CID bytes and block bytes. */
export interface DagNodeBytes {
  cid: Uint8Array;
  bytes: Uint8Array;
}

/** The CID's leaves (unixfs-v1-2025 chunks): a full slot holds LEAVES_PER_SLOT whole leaves. */
const LEAF_BYTES = 1024 * 1024;
const LEAVES_PER_SLOT = SLOT_BYTES / LEAF_BYTES;
/**
 * Leaf hashes the caller takes over (see `steal`) per `acquire` that finds the ring full: when the
 * worker is the slower side, the receiving thread hashes leaves it would otherwise wait for.
 */
const STEAL_PER_WAIT = 2;
/** Leaf claims, shared with the worker (hash-worker.mjs): whoever moves a leaf off FREE hashes it. */
const FREE = 0;
const BY_WORKER = 1;
const BY_CALLER = 2;
const CALLER_DONE = 3;

/** What a worker job computes: both hashes, or one of them. */
type JobParts = 'both' | 'sha256' | 'cid';

/** A job's answer: `sha256` unless the job was 'cid' alone; `cid` and `nodes` unless 'sha256' alone. */
interface JobResult {
  sha256?: string;
  cid?: string;
  nodes?: DagNodeBytes[];
}

interface JobHandlers {
  release(slot: number): void;
  resolve(result: JobResult): void;
  reject(err: Error): void;
}

type WorkerMessage = { t: 'release'; id: number; slot: number } | ({ t: 'done'; id: number } & JobResult) | { t: 'error'; id: number; message: string };

class HashWorker {
  private worker: Worker;
  private jobs = new Map<number, JobHandlers>();
  private nextId = 1;
  private dead = false;

  constructor() {
    this.worker = new Worker(new URL('./hash-worker.mjs', import.meta.url));
    this.worker.on('message', (m: WorkerMessage) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      if (m.t === 'release') job.release(m.slot);
      else if (m.t === 'done') {
        this.settle(m.id);
        job.resolve({ sha256: m.sha256, cid: m.cid, nodes: m.nodes });
      } else if (m.t === 'error') {
        this.settle(m.id);
        job.reject(new Error(`hash computation failed: ${m.message}`));
      }
    });
    const fail = (err: Error) => {
      this.dead = true;
      for (const job of this.jobs.values()) job.reject(err);
      this.jobs.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    // Listeners ref the worker; it should keep the process alive only while a job is running.
    this.worker.unref();
  }

  get alive() {
    return !this.dead;
  }

  /** jobs running on this worker */
  get load() {
    return this.jobs.size;
  }

  private settle(id: number) {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker.unref();
  }

  start(sab: SharedArrayBuffer, parts: JobParts, handlers: JobHandlers, leaves?: { claims: SharedArrayBuffer; digests: SharedArrayBuffer }) {
    const id = this.nextId++;
    this.jobs.set(id, handlers);
    this.worker.ref();
    this.worker.postMessage({ t: 'start', id, sab, parts, ...leaves, leavesPerSlot: LEAVES_PER_SLOT, slotBytes: SLOT_BYTES });
    const worker = this.worker;
    return {
      data: (slot: number, offset: number, length: number) => worker.postMessage({ t: 'data', id, slot, offset, length }),
      end: () => worker.postMessage({ t: 'end', id }),
      abort: () => worker.postMessage({ t: 'abort', id }),
    };
  }
}

/**
 * A ring's memory, reused across jobs: a fresh 32 MiB SharedArrayBuffer costs ~18 ms of CPU
 * (zeroing, page faults) plus garbage collection, per upload. `base` is the block-aligned offset a
 * direct-I/O writer found for this memory (null until someone looked).
 */
interface Ring {
  sab: SharedArrayBuffer;
  base: number | null;
}
/** Idle rings by slot count. */
const idleRings = new Map<number, Ring[]>();
/** Idle rings kept per slot count for the next jobs (memory held while idle: MAX_IDLE_RINGS rings). */
const MAX_IDLE_RINGS = 2;

/**
 * Whether a file's two hashes go to two workers by default. One worker that feeds each piece to
 * both hashes in turn reads the memory once: 1.36–1.45 CPU s/GiB, against 0.93–1.04 for each of two
 * workers that both read it from memory. With two cores (shared with the receiving thread and,
 * here, the client) less CPU is the faster upload; with more cores, two workers finish sooner.
 */
const SPLIT_HASHES = availableParallelism() > 2;
/** Workers shared by all jobs (one job is one thread's work; more workers serve concurrent jobs). */
const WORKERS = Math.max(2, Math.min(availableParallelism(), 4));
const workers: HashWorker[] = [];
/** The least busy worker (a dead one is replaced). */
function hashWorker(): HashWorker {
  for (let i = 0; i < workers.length; i++) if (!workers[i]!.alive) workers[i] = new HashWorker();
  const idle = workers.find((w) => w.load === 0);
  if (idle) return idle;
  if (workers.length < WORKERS) {
    const w = new HashWorker();
    workers.push(w);
    return w;
  }
  return workers.reduce((a, b) => (b.load < a.load ? b : a));
}
export interface ContentHashes {
  sha256: string;
  size: number;
  cid: string;
  /**
   * The dag-pb nodes of the file's DAG (empty for a single-block file), for the IPFS block index
   * (lib/ipfs/dag.ts). Not part of any API answer.
   */
  dagNodes?: DagNodeBytes[];
}

/**
 * sha256 + CIDv1 of a byte stream fed through slots: `acquire` a slot, fill it, `submit` it. A slot
 * submitted with `withWriter` stays busy until `writerDone` too, so the caller may write the same
 * memory to disk meanwhile.
 */
export class StreamingHasher {
  private readonly slots: number;
  private readonly ring: Ring;
  /** slot i is `[base + i * SLOT_BYTES, base + (i + 1) * SLOT_BYTES)` of the ring */
  private base: number;
  private handedOut = false;
  /** worker jobs that have not answered yet (done, error or aborted); after answering, a job never reads the ring again */
  private pendingJobs = 0;
  private recycled = false;
  private refs: number[];
  private free: number[];
  private waiters: ((slot: Slot) => void)[] = [];
  private failure: Error | null = null;
  private results: Promise<JobResult>[] = [];
  private jobs: ReturnType<HashWorker['start']>[] = [];
  private ended = false;
  /** partially filled slot of `update` */
  private open: { slot: Slot; fill: number } | null = null;
  size = 0;
  /**
   * Leaf claims (FREE … CALLER_DONE) and the caller's leaf digests, LEAVES_PER_SLOT per slot, shared
   * with the job that hashes leaves (in split mode, the 'cid' job).
   */
  private readonly claims: Int32Array;
  private readonly digests: Uint8Array;
  /** Full slots submitted and not yet released, oldest first: where `steal` looks for leaves. */
  private hashing: number[] = [];
  /** Leaves may be taken over while every slot so far was full (each then starts on a leaf boundary). */
  private aligned = true;
  /** Leaf hashes this caller computed itself (tests, diagnostics). */
  stolenLeaves = 0;

  /**
   * `split`: the two hashes in two workers (default `SPLIT_HASHES`), else both in one. `slots`: the
   * ring's size in SLOT_BYTES slots (default 8); the hashes of the last bytes are ready at most
   * that many slots after they arrive when the worker is the slower side.
   */
  constructor(opts: { split?: boolean; slots?: number } = {}) {
    this.slots = opts.slots ?? SLOTS;
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new RangeError(`ring of ${this.slots} slots`);
    this.ring = idleRings.get(this.slots)?.pop() ?? { sab: new SharedArrayBuffer(SLOT_BYTES * this.slots + RING_SLACK), base: null };
    this.base = this.ring.base ?? 0;
    this.refs = new Array<number>(this.slots).fill(0);
    this.free = [...Array(this.slots).keys()];
    const leafSlots = this.slots * LEAVES_PER_SLOT;
    this.claims = new Int32Array(new SharedArrayBuffer(4 * leafSlots));
    this.digests = new Uint8Array(new SharedArrayBuffer(32 * leafSlots));
    const parts: JobParts[] = (opts.split ?? SPLIT_HASHES) ? ['sha256', 'cid'] : ['both'];
    for (const part of parts) {
      let resolve!: (result: JobResult) => void;
      let reject!: (err: Error) => void;
      const result = new Promise<JobResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      result.catch(() => {});
      this.pendingJobs++;
      void result.then(
        () => this.jobSettled(),
        () => this.jobSettled(),
      );
      this.results.push(result);
      this.jobs.push(
        hashWorker().start(
          this.sab,
          part,
          {
            release: (slot) => this.unref(slot),
            resolve,
            reject: (err) => {
              this.failure ??= err;
              reject(err);
              for (const w of this.waiters.splice(0)) w(this.slot(0)); // wake waiters; they check failure
            },
          },
          part === 'sha256' ? undefined : { claims: this.claims.buffer as SharedArrayBuffer, digests: this.digests.buffer as SharedArrayBuffer },
        ),
      );
    }
  }

  /** The ring's memory (slots × SLOT_BYTES + RING_SLACK). */
  get sab(): SharedArrayBuffer {
    return this.ring.sab;
  }

  /** Block-aligned offset recorded for this ring's memory by an earlier `setBase`, or null. */
  get alignedBase(): number | null {
    return this.ring.base;
  }

  private slot(index: number): Slot {
    return { index, bytes: Buffer.from(this.ring.sab, this.base + index * SLOT_BYTES, SLOT_BYTES) };
  }

  /**
   * Moves every slot `base` bytes into the ring (0 ≤ base ≤ RING_SLACK), remembered with the ring's
   * memory when it is reused; only before the first `acquire`.
   */
  setBase(base: number): void {
    if (this.handedOut) throw new Error('setBase after a slot was handed out');
    if (!Number.isInteger(base) || base < 0 || base > RING_SLACK) throw new RangeError(`ring base ${base} out of range`);
    this.base = base;
    this.ring.base = base;
  }

  private jobSettled() {
    this.pendingJobs--;
    this.recycle();
  }

  /**
   * The ring goes back to the pool only when nobody can touch it any more: the caller has ended or
   * aborted, every worker job has answered (after which it never reads it again), and no slot is
   * held by a worker or by the writer.
   */
  private recycle() {
    if (this.recycled || !this.ended || this.pendingJobs > 0 || this.refs.some((r) => r > 0)) return;
    this.recycled = true;
    const idle = idleRings.get(this.slots) ?? [];
    if (idle.length < MAX_IDLE_RINGS) idle.push(this.ring);
    idleRings.set(this.slots, idle);
  }

  private unref(index: number) {
    if (--this.refs[index]! > 0) return;
    const at = this.hashing.indexOf(index);
    if (at !== -1) this.hashing.splice(at, 1);
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.slot(index));
    } else this.free.push(index);
    if (this.ended) this.recycle();
  }

  /** A free slot; waits (backpressure) while the worker or the writer still hold all of them. */
  acquire(): Promise<Slot> | Slot {
    if (this.failure) throw this.failure;
    this.handedOut = true;
    const index = this.free.shift();
    if (index !== undefined) return this.slot(index);
    this.steal(STEAL_PER_WAIT);
    return new Promise<Slot>((resolve) => this.waiters.push(resolve)).then((s) => {
      if (this.failure) throw this.failure;
      return s;
    });
  }

  /** Hands the first `length` bytes of `slot` to the hashing worker(s). */
  submit(slot: Slot, length: number, withWriter = false): void {
    if (length === 0) {
      this.free.push(slot.index);
      return;
    }
    this.refs[slot.index] = this.jobs.length + (withWriter ? 1 : 0);
    this.size += length;
    // the worker released this slot's previous bytes (claims and all) before it could be reused
    for (let j = 0; j < LEAVES_PER_SLOT; j++) Atomics.store(this.claims, slot.index * LEAVES_PER_SLOT + j, FREE);
    if (length === SLOT_BYTES && this.aligned) this.hashing.push(slot.index);
    else this.aligned = false;
    for (const job of this.jobs) job.data(slot.index, this.base + slot.index * SLOT_BYTES, length);
  }

  /**
   * Work stealing: the worker hashes every byte twice (the file's sha256, and each 1 MiB leaf's for
   * the CID) and is the slower side of an upload on two cores, while this thread waits for a slot.
   * Instead, this thread computes up to `n` leaf hashes of the newest submitted slots, last leaf
   * first (the furthest from where the worker reads), and leaves them in shared memory; the worker
   * skips those leaves' hashes (the file's sha256 it still computes) and takes the digests. A leaf is
   * hashed by whoever claims it first (compare-and-swap), so never twice and never by neither;
   * a leaf the worker has claimed ends the search (the earlier ones are its too).
   */
  private steal(n: number): void {
    for (let k = this.hashing.length - 1; k >= 0 && n > 0; k--) {
      const slot = this.hashing[k]!;
      for (let j = LEAVES_PER_SLOT - 1; j >= 0 && n > 0; j--) {
        const leaf = slot * LEAVES_PER_SLOT + j;
        const was = Atomics.compareExchange(this.claims, leaf, FREE, BY_CALLER);
        if (was === BY_WORKER) return;
        if (was !== FREE) continue;
        const at = this.base + slot * SLOT_BYTES + j * LEAF_BYTES;
        try {
          copyBytes(
            this.digests,
            leaf * 32,
            createHash('sha256')
              .update(new Uint8Array(this.ring.sab, at, LEAF_BYTES))
              .digest(),
          );
        } catch (err) {
          // the worker waits for this leaf: release it, and fail the job (its CID would be wrong)
          this.failure ??= new Error(`hashing a leaf on the receiving thread failed: ${(err as Error).message}`);
        } finally {
          Atomics.store(this.claims, leaf, CALLER_DONE);
          Atomics.notify(this.claims, leaf);
        }
        if (this.failure) return;
        this.stolenLeaves++;
        n--;
      }
    }
  }

  /** The writer is finished with `slot`. */
  writerDone(slot: Slot): void {
    this.unref(slot.index);
  }

  /** Convenience for in-memory data: copies `bytes` through the slots. */
  async update(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) {
      if (!this.open) this.open = { slot: await this.acquire(), fill: 0 };
      const n = Math.min(bytes.byteLength - off, SLOT_BYTES - this.open.fill);
      copyBytes(this.open.slot.bytes, this.open.fill, bytes.subarray(off, off + n));
      this.open.fill += n;
      off += n;
      if (this.open.fill === SLOT_BYTES) {
        this.submit(this.open.slot, this.open.fill);
        this.open = null;
      }
    }
  }

  async digest(): Promise<ContentHashes> {
    if (this.open) {
      this.submit(this.open.slot, this.open.fill);
      this.open = null;
    }
    this.ended = true;
    for (const job of this.jobs) job.end();
    this.recycle();
    const answers = await Promise.all(this.results);
    // the jobs computed both hashes between them
    const sha256 = answers.find((a) => a.sha256 !== undefined)!.sha256!;
    const { cid, nodes } = answers.find((a) => a.cid !== undefined)!;
    return { sha256, size: this.size, cid: cid!, dagNodes: nodes };
  }

  abort(): void {
    if (!this.ended) {
      this.ended = true;
      for (const job of this.jobs) job.abort();
      this.recycle();
    }
  }
}

/** sha256 + CID of a file on disk, read straight into the hasher's slots; `tap` sees every byte in order. */
export async function hashFile(file: string, tap?: (chunk: Uint8Array) => void): Promise<ContentHashes> {
  const fh = await fs.promises.open(file, 'r');
  const hasher = new StreamingHasher();
  try {
    for (;;) {
      const slot = await hasher.acquire();
      const { bytesRead } = await fh.read(slot.bytes, 0, SLOT_BYTES, null);
      if (bytesRead > 0) tap?.(slot.bytes.subarray(0, bytesRead));
      hasher.submit(slot, bytesRead);
      if (bytesRead === 0) break;
    }
    return await hasher.digest();
  } catch (err) {
    hasher.abort();
    throw err;
  } finally {
    await fh.close();
  }
}

const READ_BYTES = 8 * 1024 * 1024;

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
  try {
    await hasher.update(bytes);
  } catch (err) {
    hasher.abort(); // or the workers stay referenced and the process cannot exit
    throw err;
  }
  return hasher.digest();
}
