// Verified whole-file reads from a modeldao gateway, shared by bench:ipfs and bench:bitswap: the blob
// route (its sha256 while streaming) and a CAR of the file's DAG (verified from the root CID like a
// trustless-gateway client: every block the next of the DAG's walk and hashing to its CID).
//
// Both read the way the SDK's pulls do, so that the figures are the server's and not a client's:
// rawGet (lib/sdk/rawget.ts: the socket reads into one reused buffer; node:http's client allocates a
// fresh buffer per 64 KiB chunk, and the GC that starts cost the bench's earlier node:http reader
// ≈ 1.9 CPU s/GiB on top of the hash, which made the reference slow) and the blob's sha256 on a
// Sha256Worker thread (as `pull` hashes). Each path is verified once, by the identifier it is
// addressed by: the blob by its sha256, the CAR by its CID (both are in the approved manifest).
import crypto from 'node:crypto';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import { CarReader } from '../../lib/sdk/car-reader.ts';
import { MAX_BLOCK_BYTES } from '../../lib/sdk/ipfs.ts';
import { rawGet, type RawHead } from '../../lib/sdk/rawget.ts';
import { Sha256Worker, type OffThreadHash } from '../../lib/sdk/sha256-worker.ts';

let worker: Sha256Worker | null = null;
/** The file's sha256 on the shared worker thread (unref'd: it does not keep the bench alive). */
export function fileHash(): OffThreadHash {
  return (worker ??= new Sha256Worker()).hash();
}

const expect = (what: string, type?: RegExp) => (h: RawHead) => {
  if (h.status !== 200) throw new Error(`${what}: ${h.status}`);
  if (type && !type.test(h.headers['content-type'] ?? '')) throw new Error(`${what}: Content-Type ${h.headers['content-type']}`);
};

export async function viaBlobs(gw: string, sha256: string): Promise<void> {
  const file = fileHash();
  try {
    await rawGet(new URL(`${gw}/api/blobs/${sha256}`), {}, { onHead: expect('/api/blobs'), onData: (c) => file.update(c) });
  } catch (err) {
    file.discard();
    throw err;
  }
  if ((await file.digest()) !== sha256) throw new Error('/api/blobs: wrong bytes');
}

/**
 * Reads the CAR with the SDK's CarReader (lib/sdk/car-reader.ts, the reader `pull --ipfs-gateway`
 * uses: each block framed into one reused buffer), so the figure is the gateway's and not a parser's:
 * @ipld/car's CarBlockIterator (a copy and objects per block) cost the client ~0.8 CPU s/GiB more (256 MiB, 3 runs: 4.3 → 3.5).
 * Verified as a trustless-gateway client verifies, from the root CID (the one the approved manifest
 * lists): every block must be the next one of the DAG's depth-first walk (the root, then each
 * node's links in order; a block seen before may be left out) and hash to its CID; the leaves must
 * add up to the file's `size`. `fileSha256`: the leaves are also hashed into the file's sha256 (on
 * the worker thread), as `pull --ipfs-gateway` does on top — a second hash of every byte.
 */
export async function viaCar(gw: string, cid: string, size: number, fileSha256?: string): Promise<void> {
  const file = fileSha256 ? fileHash() : null;
  const reader = new CarReader(MAX_BLOCK_BYTES);
  const todo: CID[] = [CID.parse(cid)]; // a stack: the next expected block on top
  const seen = new Set<string>();
  let leafBytes = 0;
  const onBlock = (c: CID, bytes: Buffer) => {
    let want = todo.pop();
    while (want && seen.has(want.toString()) && !want.equals(c)) want = todo.pop(); // dups=n: left out
    if (!want || !want.equals(c)) throw new Error(`CAR: block ${c} is not the next one of the DAG (${want ?? 'none'})`);
    if (c.multihash.code !== 0x12) throw new Error(`CAR: block ${c} is not sha2-256`);
    const d = crypto.createHash('sha256').update(bytes).digest();
    if (!d.equals(c.multihash.digest)) throw new Error(`CAR: block ${c} does not verify`);
    seen.add(c.toString());
    if (c.code === 0x55) {
      leafBytes += bytes.length;
      file?.update(bytes);
    } else if (c.code === 0x70) {
      const links = dagPb.decode(bytes).Links;
      for (let i = links.length - 1; i >= 0; i--) todo.push(links[i]!.Hash);
    } else throw new Error(`CAR: block ${c} has codec ${c.code}`);
  };
  try {
    await rawGet(
      new URL(`${gw}/ipfs/${cid}?format=car&dag-scope=all`),
      { accept: 'application/vnd.ipld.car; version=1; order=dfs' },
      { onHead: expect('CAR', /^application\/vnd\.ipld\.car\b/i), onData: (c) => reader.push(c, onBlock) },
    );
  } catch (err) {
    file?.discard();
    throw err;
  }
  if (!reader.clean) throw new Error('CAR: ends inside a block');
  if (todo.some((c) => !seen.has(c.toString()))) throw new Error('CAR: blocks of the DAG are missing');
  if (leafBytes !== size) throw new Error(`CAR: leaves make ${leafBytes} bytes, not ${size}`);
  if (file && (await file.digest()) !== fileSha256) throw new Error('CAR: leaves do not make the file');
}
