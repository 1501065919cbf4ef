// CIDv1 computation off the main thread (plain JS so it loads the same way under tsx, vitest and
// node). Several jobs can run at once; each is fed by 'data' messages with transferred buffers.
// Profile unixfs-v1-2025 (IPIP-499): raw leaves, 1 MiB chunks, 1024 links per node, balanced
// layout, CIDv1 — spelled out explicitly as well so a library default change cannot move our CIDs.
import { parentPort } from 'node:worker_threads';
import { importer } from 'ipfs-unixfs-importer';
import { balanced } from 'ipfs-unixfs-importer/layout';

const CHUNK = 1024 * 1024;

/**
 * Fixed-size chunking into exactly CHUNK-byte pieces (last one shorter). Same output as the
 * library's fixedSize chunker, but chunk-aligned input (the store sends 4 MiB batches) is passed
 * through as views instead of being copied through a Uint8ArrayList.
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
      fill = 0;
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

/** Blocks are only hashed, never kept: the store keeps the file, the DAG can be rebuilt from it. */
const hashOnlyBlockstore = { put: async (cid) => cid };

class ByteQueue {
  constructor(id) {
    this.id = id;
    this.items = [];
    this.done = false;
    this.wake = null;
  }
  push(buf) {
    this.items.push(buf);
    this.wake?.();
  }
  end() {
    this.done = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      if (this.items.length > 0) {
        const buf = this.items.shift();
        yield buf;
        parentPort.postMessage({ t: 'ack', id: this.id, n: buf.byteLength });
        continue;
      }
      if (this.done) return;
      await new Promise((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

const jobs = new Map();

async function run(id, queue) {
  try {
    let root;
    for await (const entry of importer([{ content: queue }], hashOnlyBlockstore, {
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
    parentPort.postMessage({ t: 'done', id, cid: root.cid.toString(), size: Number(root.size) });
  } catch (err) {
    parentPort.postMessage({ t: 'error', id, message: String(err?.message ?? err) });
  } finally {
    jobs.delete(id);
  }
}

parentPort.on('message', (m) => {
  if (m.t === 'start') {
    const q = new ByteQueue(m.id);
    jobs.set(m.id, q);
    void run(m.id, q);
  } else if (m.t === 'data') {
    jobs.get(m.id)?.push(new Uint8Array(m.buf));
  } else if (m.t === 'end') {
    jobs.get(m.id)?.end();
  } else if (m.t === 'abort') {
    const q = jobs.get(m.id);
    if (q) {
      q.items = [];
      q.end();
    }
  }
});
