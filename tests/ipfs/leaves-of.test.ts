// leavesOf (lib/sdk/ipfs.ts): the leaves of a file's DAG in file order, from its root, the inner
// nodes fetched from a trustless gateway and verified. Here a DAG three levels deep (a 1 GiB file of
// modeldao's importer has two; a 100 GiB one three) is served by a minimal gateway of raw blocks
// that counts how many requests it holds at once: the children of a node are fetched in parallel,
// never more than 16 at a time, and the leaves still come out in order.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpfsGatewayPool, IpfsFetchError, leavesOf } from '../../lib/sdk/ipfs.ts';

const sha = (b: Uint8Array) => Digest.create(0x12, crypto.createHash('sha256').update(b).digest());
const blocks = new Map<string, Uint8Array>();
const hidden = new Set<string>();
let inFlight = 0;
let mostInFlight = 0;
let server: http.Server;
let gw: string;

/** A file node over `children` (each a CID and the bytes under it). */
function node(children: { cid: CID; size: number }[]): { cid: CID; size: number } {
  const data = new UnixFS({ type: 'file', blockSizes: children.map((c) => BigInt(c.size)) });
  const bytes = dagPb.encode(dagPb.prepare({ Data: data.marshal(), Links: children.map((c) => ({ Hash: c.cid, Tsize: c.size })) }));
  const cid = CID.createV1(0x70, sha(bytes));
  blocks.set(cid.toString(), bytes);
  return { cid, size: children.reduce((n, c) => n + c.size, 0) };
}

// 5 x 7 x 6 = 210 leaves of 1-40 bytes: more children than DAG_FETCHES at the middle level
const leaves: { cid: CID; size: number }[] = [];
const root = node(
  Array.from({ length: 5 }, () =>
    node(
      Array.from({ length: 7 }, () =>
        node(
          Array.from({ length: 6 }, () => {
            const bytes = crypto.randomBytes(1 + crypto.randomInt(40));
            const leaf = { cid: CID.createV1(0x55, sha(bytes)), size: bytes.length };
            leaves.push(leaf);
            return leaf;
          }),
        ),
      ),
    ),
  ),
);

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const cid = /^\/ipfs\/([a-z0-9]+)/.exec(req.url ?? '')?.[1] ?? '';
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    // held a moment, so that requests made together are seen together
    setTimeout(() => {
      inFlight--;
      const bytes = hidden.has(cid) ? undefined : blocks.get(cid);
      if (!bytes) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': bytes.length }).end(bytes);
    }, 15);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gw = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('leavesOf', () => {
  it('lists every leaf of a three-level DAG in file order, with its offset; inner nodes fetched in parallel, at most 16 at once', async () => {
    mostInFlight = 0;
    const got = await leavesOf(new IpfsGatewayPool({ gateways: [gw] }), root.cid, root.size);
    expect(got.map((l) => l.cid.toString())).toEqual(leaves.map((l) => l.cid.toString()));
    let offset = 0;
    for (const [i, l] of got.entries()) {
      expect(l.offset, `leaf ${i}`).toBe(offset);
      expect(l.size).toBe(leaves[i]!.size);
      offset += l.size;
    }
    expect(offset).toBe(root.size);
    expect(mostInFlight).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(16);
  });

  it('an inner node no gateway has: the walk fails naming it, after every fetch it started has ended', async () => {
    const missing = [...blocks.keys()].find((k) => k !== root.cid.toString() && !leaves.some((l) => l.cid.toString() === k))!;
    hidden.add(missing);
    try {
      const err = await leavesOf(new IpfsGatewayPool({ gateways: [gw] }), root.cid, root.size).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IpfsFetchError);
      expect((err as IpfsFetchError).cid.toString()).toBe(missing);
      expect(inFlight).toBe(0);
    } finally {
      hidden.delete(missing);
    }
  });

  it('a root whose size disagrees with its blocksizes is refused', async () => {
    await expect(leavesOf(new IpfsGatewayPool({ gateways: [gw] }), root.cid, root.size + 1)).rejects.toThrow(/covers \d+ bytes, its parent says/);
  });
});
