// Verified whole-file reads from a modeldao gateway, shared by bench:ipfs and bench:bitswap: the blob
// route (sha256 of the stream) and a CAR of the file's DAG (every block against its CID, leaves in DFS
// order against the file's sha256).
import crypto from 'node:crypto';
import http from 'node:http';
import type { CID } from 'multiformats/cid';
import { CarReader } from '../../lib/sdk/car-reader.ts';
import { MAX_BLOCK_BYTES } from '../../lib/sdk/ipfs.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
export function get(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(url, { agent }, resolve).on('error', reject));
}

export async function viaBlobs(gw: string, sha256: string): Promise<void> {
  const res = await get(`${gw}/api/blobs/${sha256}`);
  if (res.statusCode !== 200) throw new Error(`/api/blobs: ${res.statusCode}`);
  const h = crypto.createHash('sha256');
  for await (const c of res) h.update(c as Buffer);
  if (h.digest('hex') !== sha256) throw new Error('/api/blobs: wrong bytes');
}

/**
 * Reads the CAR with the SDK's CarReader (lib/sdk/car-reader.ts, the reader `pull --ipfs-gateway`
 * uses: each block framed into one reused buffer), so the figure is the gateway's and not a parser's:
 * @ipld/car's CarBlockIterator (a copy and objects per block) cost the client ~0.8 CPU s/GiB more (256 MiB, 3 runs: 4.3 → 3.5).
 */
export async function viaCar(gw: string, cid: string, sha256: string): Promise<void> {
  const res = await get(`${gw}/ipfs/${cid}?format=car&dag-scope=all`);
  if (res.statusCode !== 200) throw new Error(`CAR: ${res.statusCode}`);
  const file = crypto.createHash('sha256');
  const reader = new CarReader(MAX_BLOCK_BYTES);
  const onBlock = (c: CID, bytes: Buffer) => {
    if (c.multihash.code !== 0x12) throw new Error(`CAR: block ${c} is not sha2-256`);
    const d = crypto.createHash('sha256').update(bytes).digest();
    if (!d.equals(c.multihash.digest)) throw new Error(`CAR: block ${c} does not verify`);
    if (c.code === 0x55) file.update(bytes); // dfs: leaves in file order
  };
  for await (const chunk of res) reader.push(chunk as Buffer, onBlock);
  if (!reader.clean) throw new Error('CAR: ends inside a block');
  if (file.digest('hex') !== sha256) throw new Error('CAR: leaves do not make the file');
}
