// Hashing off the main thread (plain JS so it loads the same way under tsx, vitest and node). Two
// kinds of job, each normally in its own worker so the two hashes use both cores:
//  - 'sha256': the file's sha256 (Node crypto, fed whole 4 MiB slots);
//  - 'cid': the IPFS CIDv1, profile unixfs-v1-2025 (IPIP-499): raw leaves, 1 MiB chunks, 1024 links
//    per node, balanced layout, CIDv1 — spelled out explicitly as well so a library default change
//    cannot move our CIDs.
// Several jobs can run at once. Each job shares a SharedArrayBuffer ring of slots with the main
// thread: 'data' says which slot holds the next bytes, and where in the ring; the slot is released
// back once this job is finished with it (for 'cid': every leaf block in it hashed, as seen by the
// hash-only blockstore), so the memory is reused.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { importer } from 'ipfs-unixfs-importer';
import { balanced } from 'ipfs-unixfs-importer/layout';

const CHUNK = 1024 * 1024;
const RAW_CODEC = 0x55;
const DAG_PB_CODEC = 0x70;

/**
 * Fixed-size chunking into exactly CHUNK-byte pieces (last one shorter). Same output as the
 * library's fixedSize chunker, but chunk-aligned input (the store's 4 MiB slots) is passed through
 * as views instead of being copied.
 */
async function* fixedChunks(source) {
  let pending = null;
  let fill = 0;
  let emitted = false;
  for await (const buf of source) {
    let off = 0;
    if (pending !== null) {
      const n = Math.min(CHUNK - fill, buf.byteLength);
      pending.set(buf.subarray(0, n), fill);
      fill += n;
      off = n;
      if (fill < CHUNK) continue;
      yield pending;
      emitted = true;
      pending = null;
    }
    while (buf.byteLength - off >= CHUNK) {
      yield buf.subarray(off, off + CHUNK);
      emitted = true;
      off += CHUNK;
    }
    if (off < buf.byteLength) {
      pending = new Uint8Array(CHUNK);
      pending.set(buf.subarray(off), 0);
      fill = buf.byteLength - off;
    }
  }
  if (pending !== null) yield pending.subarray(0, fill);
  else if (!emitted) yield new Uint8Array(0); // an empty file is one empty raw block
}

class Job {
  constructor(id, sab) {
    this.id = id;
    this.sab = sab;
    this.items = [];
    this.done = false;
    this.aborted = false;
    this.wake = null;
    /** slots handed to the importer, in order, with the cumulative byte offset where each ends */
    this.inFlight = [];
    this.pushed = 0;
    this.hashed = 0;
    /**
     * The dag-pb nodes (≈ 50 KB per GiB) are kept and handed back with the CID, so the IPFS gateway
     * can serve them (lib/ipfs/dag.ts); leaves are only hashed: they are byte ranges of the blob.
     * Raw leaf puts tell which slots are finished.
     */
    this.nodes = [];
    this.blockstore = {
      // an arrow function: `this` is the job
      put: async (cid, bytes) => {
        if (cid.code === RAW_CODEC) {
          this.hashed += bytes.byteLength;
          this.releaseHashed();
        } else if (cid.code === DAG_PB_CODEC) {
          this.nodes.push({ cid: cid.bytes.slice(), bytes: bytes.slice() }); // exact copies: a view would clone its whole buffer
        }
        return cid;
      },
    };
  }
  releaseHashed() {
    while (this.inFlight.length > 0 && this.hashed >= this.inFlight[0].end) {
      parentPort.postMessage({ t: 'release', id: this.id, slot: this.inFlight.shift().slot });
    }
  }
  push(slot, offset, length) {
    this.pushed += length;
    this.inFlight.push({ slot, end: this.pushed });
    this.items.push(new Uint8Array(this.sab, offset, length));
    this.wake?.();
  }
  end() {
    this.done = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      if (this.aborted) return;
      if (this.items.length > 0) {
        yield this.items.shift();
        continue;
      }
      if (this.done) return;
      await new Promise((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

const jobs = new Map();

async function run(job) {
  try {
    let root;
    for await (const entry of importer([{ content: job }], job.blockstore, {
      profile: 'unixfs-v1-2025',
      cidVersion: 1,
      rawLeaves: true,
      reduceSingleLeafToSelf: true,
      chunker: fixedChunks,
      layout: balanced({ maxChildrenPerNode: 1024 }),
      blockWriteConcurrency: 4,
    })) {
      root = entry;
    }
    // Every slot is released (also after an abort, when the importer stopped early).
    job.hashed = Infinity;
    job.releaseHashed();
    parentPort.postMessage({ t: 'done', id: job.id, result: root.cid.toString(), nodes: job.nodes });
  } catch (err) {
    parentPort.postMessage({ t: 'error', id: job.id, message: String(err?.message ?? err) });
  } finally {
    jobs.delete(job.id);
  }
}

/** The file's sha256: each slot is hashed as it arrives and released at once. */
class ShaJob {
  constructor(id, sab) {
    this.id = id;
    this.sab = sab;
    this.hash = createHash('sha256');
  }
  push(slot, offset, length) {
    this.hash.update(new Uint8Array(this.sab, offset, length));
    parentPort.postMessage({ t: 'release', id: this.id, slot });
  }
  end() {
    jobs.delete(this.id);
    parentPort.postMessage({ t: 'done', id: this.id, result: this.hash.digest('hex') });
  }
}

parentPort.on('message', (m) => {
  if (m.t === 'start') {
    if (m.kind === 'sha256') {
      jobs.set(m.id, new ShaJob(m.id, m.sab));
      return;
    }
    const job = new Job(m.id, m.sab);
    jobs.set(m.id, job);
    void run(job);
  } else if (m.t === 'data') {
    jobs.get(m.id)?.push(m.slot, m.offset, m.length);
  } else if (m.t === 'end') {
    jobs.get(m.id)?.end();
  } else if (m.t === 'abort') {
    const job = jobs.get(m.id);
    if (job instanceof ShaJob) {
      // holds no slot (each was released as soon as it was hashed); just settle the caller
      jobs.delete(m.id);
      parentPort.postMessage({ t: 'error', id: m.id, message: 'aborted' });
    } else if (job) {
      job.aborted = true;
      job.items = [];
      job.end();
    }
  }
});
