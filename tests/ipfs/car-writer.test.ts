// The CAR writer (lib/ipfs/car.ts) on a two-level UnixFS DAG — the shape of files over 1 GiB, which
// the gateway tests (a few MiB) never reach: the declared length is the bytes written, blocks come in
// DFS order and verify, and byte ranges take the nodes on the path and only the overlapping leaves.
// The DAG is built here with @ipld/dag-pb and ipfs-unixfs, small leaves standing in for 1 MiB ones.
import crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CarBlockIterator } from '@ipld/car';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { carLength, writeCar, type ByteRange } from '../../lib/ipfs/car.ts';
import { multihashHex, type BlockRow } from '../../lib/ipfs/dag.ts';

const sha = (b: Uint8Array) => Digest.create(0x12, crypto.createHash('sha256').update(b).digest());

function node(children: { cid: CID; size: number }[]) {
  const data = new UnixFS({ type: 'file', blockSizes: children.map((c) => BigInt(c.size)) }).marshal();
  const bytes = dagPb.encode(dagPb.prepare({ Data: data, Links: children.map((c) => ({ Hash: c.cid, Tsize: c.size })) }));
  return { cid: CID.createV1(0x70, sha(bytes)), bytes, size: children.reduce((n, c) => n + c.size, 0) };
}

/** A file of 3 inner nodes under the root, 4 + 4 + 3 leaves of 10 bytes (the last 7), leaf 5 = leaf 1. */
function twoLevelFile() {
  const file = crypto.randomBytes(10 * 10 + 7);
  file.copy(file, 50, 10, 20); // a repeated leaf, for dups=n
  const leaves = Array.from({ length: 11 }, (_, i) => {
    const bytes = file.subarray(i * 10, Math.min(file.length, i * 10 + 10));
    return { cid: CID.createV1(0x55, sha(bytes)), size: bytes.length };
  });
  const inner = [node(leaves.slice(0, 4)), node(leaves.slice(4, 8)), node(leaves.slice(8))];
  const root = node(inner);
  const nodes = new Map([root, ...inner].map((n) => [multihashHex(n.cid), n.bytes]));
  const row: BlockRow = {
    multihash: multihashHex(root.cid),
    blobSha256: 'f'.repeat(64),
    codec: 0x70,
    offset: 0,
    length: root.bytes.length,
    node: null,
    repeats: false,
  };
  const src = {
    node: async (mh: string) => nodes.get(mh) ?? null,
    repeated: async () => new Set([multihashHex(leaves[1]!.cid)]),
    read: (start: number, end: number) => Readable.from([file.subarray(start, end + 1)]),
  };
  return { file, root, inner, row, src };
}

async function car(f: ReturnType<typeof twoLevelFile>, dups: boolean, range: ByteRange | null = null) {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  const declared = await carLength(f.root.cid, f.row, 'all', dups, f.src, range);
  await writeCar(out, f.root.cid, f.row, 'all', dups, f.src, range);
  const body = Buffer.concat(chunks);
  expect(body.length).toBe(declared);
  const blocks: { cid: CID; bytes: Uint8Array }[] = [];
  for await (const b of await CarBlockIterator.fromBytes(body)) {
    expect(Buffer.from(sha(b.bytes).digest).equals(Buffer.from(b.cid.multihash.digest)), `${b.cid} verifies`).toBe(true);
    blocks.push(b);
  }
  return blocks;
}

describe('CAR writer on a two-level DAG', () => {
  it('dag-scope=all: the declared length is what is written; root, then each inner node before its leaves; the leaves make the file', async () => {
    const f = twoLevelFile();
    const blocks = await car(f, true);
    expect(blocks.map((b) => b.cid.code)).toEqual([0x70, 0x70, 0x55, 0x55, 0x55, 0x55, 0x70, 0x55, 0x55, 0x55, 0x55, 0x70, 0x55, 0x55, 0x55]);
    expect(blocks[0]!.cid.equals(f.root.cid)).toBe(true);
    expect(Buffer.concat(blocks.filter((b) => b.cid.code === 0x55).map((b) => b.bytes)).equals(f.file)).toBe(true);
    // dups=n: the repeated leaf once
    expect((await car(f, false)).length).toBe(blocks.length - 1);
  });

  it('a byte range across two inner nodes: the root, those two nodes, and only the overlapping leaves', async () => {
    const f = twoLevelFile();
    const blocks = await car(f, true, { from: 35, to: 64 }); // leaves 3..6: inner nodes 0 and 1
    expect(blocks.map((b) => b.cid.code)).toEqual([0x70, 0x70, 0x55, 0x70, 0x55, 0x55, 0x55]);
    expect([0, 1, 3].map((i) => blocks[i]!.cid.toString())).toEqual([f.root.cid, f.inner[0]!.cid, f.inner[1]!.cid].map(String));
    expect(Buffer.concat(blocks.filter((b) => b.cid.code === 0x55).map((b) => b.bytes)).equals(f.file.subarray(30, 70))).toBe(true);
    // the last byte only: the root, the last inner node, the last leaf
    const last = await car(f, true, { from: f.file.length - 1, to: f.file.length - 1 });
    expect(last.map((b) => b.cid.code)).toEqual([0x70, 0x70, 0x55]);
    expect(Buffer.from(last[2]!.bytes).equals(f.file.subarray(100))).toBe(true);
  });
});
