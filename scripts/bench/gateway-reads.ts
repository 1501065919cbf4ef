// Verified whole-file reads from a modeldao gateway, shared by bench:ipfs and bench:bitswap: the blob
// route (sha256 of the stream) and a CAR of the file's DAG (every block against its CID, leaves in DFS
// order against the file's sha256).
import crypto from 'node:crypto';
import http from 'node:http';
import { CarBlockIterator } from '@ipld/car';

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

export async function viaCar(gw: string, cid: string, sha256: string): Promise<void> {
  const res = await get(`${gw}/ipfs/${cid}?format=car&dag-scope=all`);
  if (res.statusCode !== 200) throw new Error(`CAR: ${res.statusCode}`);
  const file = crypto.createHash('sha256');
  for await (const b of await CarBlockIterator.fromIterable(res as AsyncIterable<Uint8Array>)) {
    const d = crypto.createHash('sha256').update(b.bytes).digest();
    if (!d.equals(Buffer.from(b.cid.multihash.digest))) throw new Error(`CAR: block ${b.cid} does not verify`);
    if (b.cid.code === 0x55) file.update(b.bytes); // dfs: leaves in file order
  }
  if (file.digest('hex') !== sha256) throw new Error('CAR: leaves do not make the file');
}
