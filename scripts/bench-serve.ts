// npm run bench:serve [-- --size 1G] [--runs 5]
// Publishes a generated file through the real flow (upload, manifest, governance proposal
// registerModel + publishVersion, indexer), then downloads it from GET /api/blobs/{sha256} of the
// real server (child process, plain API) and from a plain node:http file server (child process,
// fs.createReadStream(file).pipe(res)), alternating, with the same client hashing every byte.
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { modelRegistryAbi } from '../lib/contracts/generated.ts';
import { DEV_ACCOUNTS, freePort } from '../lib/devchain/anvil.ts';
import { Governance, Support, call } from '../lib/devchain/governance.ts';
import { MANIFEST_SCHEMA } from '../lib/manifest/index.ts';
import { generateFile, parseSize, startServerProcess, startUploadChain, tempDir } from '../tests/helpers/server-process.ts';
import { median, runBench } from './bench/harness.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const size = parseSize(arg('size') ?? '1G');
const runs = Number(arg('runs') ?? 5);
const MiB = 1024 * 1024;

function download(url: string): Promise<{ seconds: number; sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${url}: ${res.statusCode}`));
        const h = createHash('sha256');
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          h.update(d);
          bytes += d.length;
        });
        res.on('end', () => resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, sha256: h.digest('hex'), bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const PLAIN_SERVER = `
const http = require('node:http'); const fs = require('node:fs');
const file = process.argv[1]; const size = fs.statSync(file).size;
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  fs.createReadStream(file).pipe(res);
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));`;

await runBench('serve', async ({ defer, log }) => {
  const work = tempDir('modeldao-bench-serve-');
  defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const chain = await startUploadChain();
  defer(() => chain.stop());
  const server = await startServerProcess({ chain, dataDir: path.join(work, 'data') });
  defer(() => server.stop());
  const file = path.join(work, 'weights.bin');
  generateFile(file, size);
  const auth = await chain.auth(server.url);
  const up = JSON.parse(
    execFileSync('curl', ['-sS', '-X', 'POST', '-T', file, '-H', `authorization: ${auth}`, '-H', 'expect:', `${server.url}/api/uploads`]).toString(),
  );
  const manifestRes = await fetch(`${server.url}/api/manifests`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: MANIFEST_SCHEMA,
      model: 'bench',
      parent: null,
      files: [{ path: 'weights.bin', size: up.size, sha256: up.sha256, cid: up.cid }],
    }),
  });
  const manifest = (await manifestRes.json()) as { manifestDigest: `0x${string}` };
  const gov = new Governance(chain.anvil.rpcUrl, chain.deployment);
  for (const a of DEV_ACCOUNTS.slice(1, 3)) await gov.delegate(a.privateKey);
  const registry = chain.deployment.contracts.ModelRegistry;
  const actions = [
    call(registry, modelRegistryAbi, 'registerModel', ['bench', { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]),
    call(registry, modelRegistryAbi, 'publishVersion', [1n, manifest.manifestDigest, 0]),
  ];
  await gov.passProposal({
    proposer: DEV_ACCOUNTS[0].privateKey,
    actions,
    description: '# bench: publish the benchmark weights',
    votes: DEV_ACCOUNTS.slice(0, 3).map((a) => ({ key: a.privateKey, support: Support.For })),
  });
  const blobUrl = `${server.url}/api/blobs/${up.sha256}`;
  for (let i = 0; ; i++) {
    const res = await fetch(blobUrl, { method: 'HEAD' });
    if (res.status === 200) break;
    if (i > 600) throw new Error(`blob not served after publication (status ${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const port = await freePort();
  const plain = spawn(process.execPath, ['-e', PLAIN_SERVER, file, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(() => plain.kill('SIGKILL'));
  await new Promise<void>((resolve) => plain.stdout!.once('data', () => resolve()));
  const plainUrl = `http://127.0.0.1:${port}/weights.bin`;

  // warm-up (page cache, JIT) for both
  await download(blobUrl);
  await download(plainUrl);
  const ours: number[] = [];
  const ref: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (const [url, into] of (r % 2 === 0
      ? [
          [blobUrl, ours],
          [plainUrl, ref],
        ]
      : [
          [plainUrl, ref],
          [blobUrl, ours],
        ]) as [string, number[]][]) {
      const d = await download(url);
      if (d.sha256 !== up.sha256 || d.bytes !== size) throw new Error(`${url}: wrong bytes (${d.bytes}, ${d.sha256})`);
      into.push(d.seconds);
    }
    log(`run ${r + 1}: modeldao ${(size / MiB / ours[r]!).toFixed(0)} MiB/s, plain node:http ${(size / MiB / ref[r]!).toFixed(0)} MiB/s`);
  }
  const oursMiBs = size / MiB / median(ours);
  const refMiBs = size / MiB / median(ref);
  return {
    size_MiB: +(size / MiB).toFixed(0),
    runs,
    modeldao_MiB_per_s: +oursMiBs.toFixed(1),
    plain_node_http_MiB_per_s: +refMiBs.toFixed(1),
    ratio_vs_plain: +(oursMiBs / refMiBs).toFixed(3),
    goal: 'GET /api/blobs (published blob, sha256 checked by the client) >= 0.8x a plain node:http file server',
    goal_met: oursMiBs / refMiBs >= 0.8,
  };
});
