// The raw libp2p ceiling for bench:bitswap: what one stream moves over the same transport stack
// as bitswap (TCP, noise, yamux: lib/ipfs/node.ts offlineLibp2pOptions), between two processes on
// loopback, with no protocol on top (no want lists, no protobuf, no block hashing). Bitswap
// cannot beat it; when it is under the goal the goal cannot be met on this machine.
//   sender:  node --import tsx scripts/bench/libp2p-ceiling.ts <bytes>   (prints its multiaddr)
//   reader:  startCeilingSender(bytes) then readCeiling(addr, bytes) from the bench.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { installNode20Polyfills } from '../../lib/ipfs/polyfills.ts';
import { offlineLibp2pOptions } from '../../lib/ipfs/node.ts';

const PROTOCOL = '/modeldao/bench-ceiling/1.0.0';
const CHUNK = 256 * 1024;

interface SendStream {
  send(b: Uint8Array): boolean;
  onDrain(): Promise<void>;
  close(): Promise<void>;
}

async function serve(bytes: number): Promise<void> {
  installNode20Polyfills();
  const { createLibp2p } = await import('libp2p');
  const node = await createLibp2p((await offlineLibp2pOptions({ listen: ['/ip4/127.0.0.1/tcp/0'] })) as never);
  const chunk = new Uint8Array(CHUNK).fill(7);
  await node.handle(PROTOCOL, (stream: unknown) => {
    const s = stream as SendStream;
    void (async () => {
      for (let sent = 0; sent < bytes; sent += CHUNK) {
        if (!s.send(sent + CHUNK <= bytes ? chunk : chunk.subarray(0, bytes - sent))) await s.onDrain();
      }
      await s.close();
    })().catch(() => {});
  });
  process.stdout.write(`${node.getMultiaddrs()[0]!.toString()}\n`);
  process.on('SIGTERM', () => void Promise.resolve(node.stop()).finally(() => process.exit(0)));
}

/** Starts the sender process; resolves with its multiaddr and a stop function. */
export function startCeilingSender(bytes: number): Promise<{ addr: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () =>
    new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ addr: out.trim(), stop });
    });
    child.once('exit', (code) => reject(new Error(`libp2p ceiling sender exited (${code})`)));
  });
}

/** A fresh libp2p node (like bench:bitswap's fetching node) reads `bytes` from the sender; ms from the stream's opening. */
export async function readCeiling(addr: string, bytes: number): Promise<number> {
  installNode20Polyfills();
  const { createLibp2p } = await import('libp2p');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const node = await createLibp2p((await offlineLibp2pOptions({ listen: [] })) as never);
  try {
    const conn = await node.dial(multiaddr(addr));
    const t0 = performance.now();
    const stream = await conn.newStream(PROTOCOL);
    let n = 0;
    for await (const c of stream as unknown as AsyncIterable<{ byteLength: number }>) n += c.byteLength;
    if (n !== bytes) throw new Error(`libp2p ceiling: read ${n} of ${bytes} bytes`);
    return performance.now() - t0;
  } finally {
    await node.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await serve(Number(process.argv[2]));
