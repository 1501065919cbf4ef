// Hashing off the main thread (plain JS so it loads the same way under tsx, vitest and node). A job
// computes a file's two hashes in one pass over its bytes (or one of them: see `parts`):
//  - the file's sha256 (Node crypto);
//  - the IPFS CIDv1, profile unixfs-v1-2025 (IPIP-499): raw leaves, 1 MiB chunks, 1024 links per
//    node, balanced layout, CIDv1 — spelled out explicitly as well so a library default change
//    cannot move our CIDs. The leaves' sha256 are computed here, piece by piece beside the file's,
//    and the importer only builds the dag-pb nodes above them.
// Both sha256 read each piece while it is in this core's cache: as two workers (one per hash) each
// paid for reading the ring from memory, ~0.9 CPU s/GiB each against ~0.65 for sha256 from cache.
// Several jobs can run at once. Each job shares a SharedArrayBuffer ring of slots with the main
// thread: 'data' says which slot holds the next bytes, and where in the ring; the slot is released
// back as soon as both hashes have read it, so the memory is reused.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { importer } from 'ipfs-unixfs-importer';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';

const CHUNK = 1024 * 1024;
/**
 * Bytes given to each hash at a time: small enough that the second read finds them in cache. The
 * worker alone (StreamingHasher, 1 GiB, one job): 64 KiB pieces 1.24–1.32 CPU s/GiB, 48 KiB
 * 1.30–1.35, 128 KiB 1.38–1.44, 256 KiB 1.53.
 */
const PIECE = 64 * 1024;
const RAW_CODEC = 0x55;
const DAG_PB_CODEC = 0x70;
const SHA2_256 = 0x12;

/**
 * The importer's leaves, already hashed: fixed CHUNK-byte pieces of the file (the last one shorter;
 * an empty file is one empty leaf), each a raw block whose CID is its sha256.
 */
function hashedLeaves(file) {
  return (async function* () {
    for await (const leaf of file.content) {
      yield async () => ({
        cid: CID.createV1(RAW_CODEC, createDigest(SHA2_256, leaf.digest)),
        size: BigInt(leaf.byteLength),
        unixfs: undefined,
        block: undefined,
      });
    }
  })();
}

/** Leaf claims shared with the caller (StreamingHasher.steal in hash.ts): who hashes which leaf. */
const FREE = 0;
const BY_WORKER = 1;
const CALLER_DONE = 3;

class Job {
  /**
   * parts: 'both', or 'sha256' / 'cid' alone (a file's two hashes split over two workers). `leaves`
   * (jobs that hash leaves): the claims and digests the caller shares, and the slot geometry.
   */
  constructor(id, sab, parts, leaves) {
    this.id = id;
    this.sab = sab;
    this.claims = leaves?.claims ? new Int32Array(leaves.claims) : null;
    this.callerDigests = leaves?.digests ? new Uint8Array(leaves.digests) : null;
    this.leavesPerSlot = leaves?.leavesPerSlot;
    /** the claim index of the leaf being read when the caller hashed it (this job skips its leaf hash), else -1 */
    this.taken = -1;
    this.file = parts === 'cid' ? null : createHash('sha256');
    this.leaf = parts === 'sha256' ? null : createHash('sha256');
    this.leafFill = 0;
    this.leafCount = 0;
    /** hashed leaves ({digest, byteLength}) not yet taken by the importer */
    this.leaves = [];
    this.done = false;
    this.aborted = false;
    this.wake = null;
    /**
     * The dag-pb nodes (≈ 50 KB per GiB) are kept and handed back with the CID, so the IPFS gateway
     * can serve them (lib/ipfs/dag.ts); leaves are byte ranges of the blob and never stored here.
     */
    this.nodes = [];
    this.blockstore = {
      put: async (cid, bytes) => {
        // exact copies: a view would clone its whole buffer
        if (cid.code === DAG_PB_CODEC) this.nodes.push({ cid: cid.bytes.slice(), bytes: bytes.slice() });
        return cid;
      },
    };
  }
  finishLeaf() {
    this.leaves.push({ digest: new Uint8Array(this.leaf.digest()), byteLength: this.leafFill });
    this.leafCount++;
    this.leaf = createHash('sha256');
    this.leafFill = 0;
    this.wake?.();
  }
  /** Claims the whole leaf starting at `at` (of `slot`, which starts at `start`): false when the caller has it. */
  claim(slot, start, at) {
    const j = (at - start) / CHUNK;
    if (!this.claims || this.leafFill !== 0 || !Number.isInteger(j) || j >= this.leavesPerSlot) return true;
    const leaf = slot * this.leavesPerSlot + j;
    if (Atomics.compareExchange(this.claims, leaf, FREE, BY_WORKER) === FREE) return true;
    this.taken = leaf;
    return false;
  }
  /** The leaf the caller hashed: waits for its digest (it hashes right after claiming) and takes it. */
  finishTaken() {
    const leaf = this.taken;
    while (Atomics.load(this.claims, leaf) !== CALLER_DONE) Atomics.wait(this.claims, leaf, Atomics.load(this.claims, leaf), 1000);
    this.leaves.push({ digest: this.callerDigests.slice(leaf * 32, leaf * 32 + 32), byteLength: this.leafFill });
    this.leafCount++;
    this.leafFill = 0;
    this.taken = -1;
    this.wake?.();
  }
  push(slot, offset, length) {
    const start = offset;
    const end = offset + length;
    while (offset < end) {
      // only whole leaves of full slots can be the caller's (it takes none from a short last slot)
      if (this.leaf && this.leafFill === 0 && end - offset >= CHUNK) this.claim(slot, start, offset);
      const n = Math.min(end - offset, PIECE, CHUNK - this.leafFill);
      const piece = new Uint8Array(this.sab, offset, n);
      this.file?.update(piece);
      if (this.taken === -1) this.leaf?.update(piece);
      this.leafFill += n;
      offset += n;
      if (this.leafFill === CHUNK && this.taken !== -1) this.finishTaken();
      else if (this.leafFill === CHUNK && this.leaf) this.finishLeaf();
      else if (this.leafFill === CHUNK) this.leafFill = 0;
    }
    parentPort.postMessage({ t: 'release', id: this.id, slot });
  }
  end() {
    this.sha256 = this.file?.digest('hex');
    if (!this.leaf) {
      // sha256 alone: no importer running, the answer is ready now
      jobs.delete(this.id);
      parentPort.postMessage({ t: 'done', id: this.id, sha256: this.sha256 });
      return;
    }
    if (this.leafFill > 0 || this.leafCount === 0) this.finishLeaf();
    this.done = true;
    this.wake?.();
  }
  abort() {
    this.aborted = true;
    this.leaves = [];
    this.done = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      if (this.aborted) return;
      if (this.leaves.length > 0) {
        yield this.leaves.shift();
        continue;
      }
      if (this.done) return;
      await new Promise((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

const jobs = new Map();

/** The CID from the job's hashed leaves (the sha256 comes along when the job computes it too). */
async function run(job) {
  try {
    let root;
    for await (const entry of importer([{ content: job }], job.blockstore, {
      profile: 'unixfs-v1-2025',
      cidVersion: 1,
      rawLeaves: true,
      reduceSingleLeafToSelf: true,
      // the content is the hashed leaves: no chunking or byte checks left to do
      chunker: (leaves) => leaves,
      chunkValidator: (leaves) => leaves,
      bufferImporter: hashedLeaves,
      layout: balanced({ maxChildrenPerNode: 1024 }),
      blockWriteConcurrency: 4,
    })) {
      root = entry;
    }
    if (!job.aborted) parentPort.postMessage({ t: 'done', id: job.id, sha256: job.sha256, cid: root.cid.toString(), nodes: job.nodes });
  } catch (err) {
    if (!job.aborted) parentPort.postMessage({ t: 'error', id: job.id, message: String(err?.message ?? err) });
  } finally {
    jobs.delete(job.id);
  }
}

parentPort.on('message', (m) => {
  if (m.t === 'start') {
    const job = new Job(m.id, m.sab, m.parts, m.claims ? { claims: m.claims, digests: m.digests, leavesPerSlot: m.leavesPerSlot } : undefined);
    jobs.set(m.id, job);
    if (job.leaf) void run(job);
  } else if (m.t === 'data') {
    jobs.get(m.id)?.push(m.slot, m.offset, m.length);
  } else if (m.t === 'end') {
    jobs.get(m.id)?.end();
  } else if (m.t === 'abort') {
    const job = jobs.get(m.id);
    if (job) {
      // holds no slot (each was released as soon as it was hashed): settle the caller now
      job.abort();
      jobs.delete(m.id);
      parentPort.postMessage({ t: 'error', id: m.id, message: 'aborted' });
    }
  }
});
