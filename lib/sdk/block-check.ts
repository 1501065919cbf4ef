import { Worker } from 'node:worker_threads';

// The pull over IPFS hashes every byte twice: each 1 MiB leaf against its CID, and the whole file
// against the manifest's sha256. Both run here, on two worker threads, reading the leaves where they
// already are: in LeafFile's slab of slots, shared memory. The main thread only receives, frames the
// CAR (straight into the slots) and writes; before this it also hashed every leaf (about half of its
// CPU), and copied every leaf twice more (out of the CAR reader's buffer, into the file hash's ring).
// On a 2-core machine that also runs the gateway, that was the critical path (bench:ipfs).
// One thread checks leaves, the other keeps the files' hashes: each is about one sha256 of the file.
// (One thread doing both was tried: the same CPU, and a longer critical path.)

// A script string (eval) rather than a file: the CLI runs as one esbuild bundle.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const slabs = new Map();
const files = new Map();
parentPort.on('message', (m) => {
  switch (m.op) {
    case 'slab':
      slabs.set(m.slab, new Uint8Array(m.sab));
      return;
    case 'unslab':
      slabs.delete(m.slab);
      return;
    case 'check': {
      const d = crypto.createHash('sha256').update(slabs.get(m.slab).subarray(m.off, m.off + m.len)).digest();
      parentPort.postMessage({ id: m.id, ok: d.equals(m.digest) });
      return;
    }
    case 'feed': {
      let h = files.get(m.file);
      if (!h) files.set(m.file, (h = crypto.createHash('sha256')));
      h.update(m.bytes ?? slabs.get(m.slab).subarray(m.off, m.off + m.len));
      if (m.id !== undefined) parentPort.postMessage({ id: m.id });
      return;
    }
    case 'digest': {
      const h = files.get(m.file) ?? crypto.createHash('sha256');
      files.delete(m.file);
      parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
      return;
    }
    case 'drop':
      files.delete(m.file);
      return;
  }
});
`;

interface Reply {
  id: number;
  ok?: boolean;
  hex?: string;
}

/** One worker thread of SOURCE, started on first use: requests answered in order, each by a promise. */
class HashThread {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (err: Error) => void }>();
  /** slabs this worker (incarnation) knows */
  private known = new WeakSet<SharedArrayBuffer>();

  private get thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: Reply) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) w.unref();
      p.resolve(m);
    });
    const fail = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.known = new WeakSet();
      const all = [...this.waiting.values()];
      this.waiting.clear();
      for (const p of all) p.reject(err);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`a hash thread of the IPFS pull exited (${code})`)));
    this.worker = w;
    return w;
  }

  /** Sends `m` (naming `slab` when it reads one); with `reply`, resolves with the answer. */
  send(m: Record<string, unknown>, slab?: Slab): void;
  send(m: Record<string, unknown>, slab: Slab | undefined, reply: true): Promise<Reply>;
  send(m: Record<string, unknown>, slab?: Slab, reply?: true): Promise<Reply> | void {
    const w = this.thread;
    if (slab && !this.known.has(slab.sab)) {
      this.known.add(slab.sab);
      w.postMessage({ op: 'slab', slab: slab.id, sab: slab.sab });
    }
    if (!reply) return w.postMessage(m);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ ...m, id });
    });
  }

  forget(slab: Slab): void {
    if (this.worker && this.known.has(slab.sab)) this.worker.postMessage({ op: 'unslab', slab: slab.id });
    this.known.delete(slab.sab);
  }
}

const checker = new HashThread();
const hasher = new HashThread();
let nextSlab = 0;
let nextFile = 0;

/** Shared memory the hash threads read leaves from (LeafFile's slab). */
export interface Slab {
  id: number;
  sab: SharedArrayBuffer;
}

export function newSlab(bytes: number): Slab {
  return { id: nextSlab++, sab: new SharedArrayBuffer(bytes) };
}

/** The hash threads no longer need `slab` (it is being let go). */
export function forgetSlab(slab: Slab): void {
  checker.forget(slab);
  hasher.forget(slab);
}

/**
 * True when the `len` bytes at `off` of `slab` hash (sha2-256) to `digest`, computed on the checker
 * thread. The bytes must not change until the promise settles. Rejects only if the thread fails.
 */
export async function checkInSlab(slab: Slab, off: number, len: number, digest: Uint8Array): Promise<boolean> {
  // a copy of the digest: a view would send its whole buffer
  const r = await checker.send({ op: 'check', slab: slab.id, off, len, digest: new Uint8Array(digest) }, slab, true);
  return r.ok === true;
}

/**
 * A file's sha256 on the hasher thread, fed in order: from a slab (`updateInSlab`, no copy; the
 * bytes must not change until its promise settles) or from any bytes (`update`, copied at once).
 */
export class SlabFileHash {
  private readonly file = nextFile++;

  update(bytes: Uint8Array): void {
    hasher.send({ op: 'feed', file: this.file, bytes: bytes.slice() });
  }

  /** Resolves once the bytes are hashed (their slot may then be reused). */
  updateInSlab(slab: Slab, off: number, len: number): Promise<unknown> {
    return hasher.send({ op: 'feed', file: this.file, slab: slab.id, off, len }, slab, true);
  }

  async digest(): Promise<string> {
    const r = await hasher.send({ op: 'digest', file: this.file }, undefined, true);
    return r.hex!;
  }

  discard(): void {
    hasher.send({ op: 'drop', file: this.file });
  }
}
