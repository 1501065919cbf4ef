// npm run bench:serve [-- --size 1G] [--runs 5]
// Publishes a generated file through the real flow (upload, manifest, governance proposal
// registerModel + publishVersion, indexer), then downloads it from GET /api/blobs/{sha256} of the
// real server (child process, plain API) and from a plain node:http file server (child process,
// fs.createReadStream(file).pipe(res)), alternating, with the same client hashing every byte.
// Then the S3 backend: a second server (STORE=s3) on a throwaway OpenStack Swift (s3api) publishes
// the same file, and GET /api/blobs from it is timed against a direct ranged GET of the blob's
// object from Swift with the AWS SDK (same client hashing). `--store local|s3|both` (default both).
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { modelRegistryAbi } from '../lib/contracts/generated.ts';
import { DEV_ACCOUNTS, freePort } from '../lib/devchain/anvil.ts';
import { Governance, Support, call } from '../lib/devchain/governance.ts';
import { MANIFEST_SCHEMA } from '../lib/manifest/index.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import {
  generateFile,
  parseSize,
  startServerProcess,
  startUploadChain,
  tempDir,
  type ServerProcess,
  type UploadChain,
} from '../tests/helpers/server-process.ts';
import { startSwift } from '../tests/helpers/swift.ts';
import { median, runBench } from './bench/harness.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const size = parseSize(arg('size') ?? '1G');
const runs = Number(arg('runs') ?? 5);
const stores = (arg('store') ?? 'both') === 'both' ? ['local', 's3'] : [arg('store')!];
if (!stores.every((s) => s === 'local' || s === 's3')) throw new Error('--store must be local, s3 or both');
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

/** Uploads `file`, posts its manifest and passes the governance proposal that publishes it; resolves once the blob is served. */
async function publish(chain: UploadChain, server: ServerProcess, file: string, slug: string, modelId: bigint, delegate: boolean) {
  const auth = await chain.auth(server.url);
  const up = JSON.parse(
    execFileSync('curl', ['-sS', '-X', 'POST', '-T', file, '-H', `authorization: ${auth}`, '-H', 'expect:', `${server.url}/api/uploads`]).toString(),
  );
  const manifestRes = await fetch(`${server.url}/api/manifests`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: MANIFEST_SCHEMA,
      model: slug,
      parent: null,
      files: [{ path: 'weights.bin', size: up.size, sha256: up.sha256, cid: up.cid }],
    }),
  });
  const manifest = (await manifestRes.json()) as { manifestDigest: `0x${string}` };
  const gov = new Governance(chain.anvil.rpcUrl, chain.deployment);
  if (delegate) for (const a of DEV_ACCOUNTS.slice(1, 3)) await gov.delegate(a.privateKey);
  const registry = chain.deployment.contracts.ModelRegistry;
  const actions = [
    call(registry, modelRegistryAbi, 'registerModel', [slug, { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]),
    call(registry, modelRegistryAbi, 'publishVersion', [modelId, manifest.manifestDigest, 0]),
  ];
  await gov.passProposal({
    proposer: DEV_ACCOUNTS[0].privateKey,
    actions,
    description: `# bench: publish the benchmark weights (${slug})`,
    votes: DEV_ACCOUNTS.slice(0, 3).map((a) => ({ key: a.privateKey, support: Support.For })),
  });
  const blobUrl = `${server.url}/api/blobs/${up.sha256}`;
  for (let i = 0; ; i++) {
    const res = await fetch(blobUrl, { method: 'HEAD' });
    if (res.status === 200) break;
    if (i > 600) throw new Error(`blob not served after publication (status ${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { sha256: up.sha256 as string, blobUrl };
}

/** Hashes a byte stream as `download` does. */
async function drain(t0: bigint, body: Readable): Promise<{ seconds: number; sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const d of body) {
    h.update(d as Buffer);
    bytes += (d as Buffer).length;
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, sha256: h.digest('hex'), bytes };
}

/** Alternates two downloads `runs` times (after a warm-up of each); every result is checked. */
async function alternate(
  runs: number,
  sha256: string,
  a: { name: string; get: () => Promise<{ seconds: number; sha256: string; bytes: number }> },
  b: { name: string; get: () => Promise<{ seconds: number; sha256: string; bytes: number }> },
  log: (m: string) => void,
) {
  await a.get();
  await b.get();
  const times = { a: [] as number[], b: [] as number[] };
  for (let r = 0; r < runs; r++) {
    for (const which of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      const d = await (which === 'a' ? a : b).get();
      if (d.sha256 !== sha256 || d.bytes !== size) throw new Error(`${(which === 'a' ? a : b).name}: wrong bytes (${d.bytes}, ${d.sha256})`);
      times[which].push(d.seconds);
    }
    log(`run ${r + 1}: ${a.name} ${(size / MiB / times.a[r]!).toFixed(0)} MiB/s, ${b.name} ${(size / MiB / times.b[r]!).toFixed(0)} MiB/s`);
  }
  return { a: size / MiB / median(times.a), b: size / MiB / median(times.b) };
}

await runBench('serve', async ({ defer, log }) => {
  const work = tempDir('modeldao-bench-serve-');
  defer(() => fs.rmSync(work, { recursive: true, force: true }));
  const chain = await startUploadChain();
  defer(() => chain.stop());
  const file = path.join(work, 'weights.bin');
  generateFile(file, size);
  const out: Record<string, unknown> = { size_MiB: +(size / MiB).toFixed(0), runs };
  const goals: string[] = [];
  let met = true;
  let modelId = 0n;

  if (stores.includes('local')) {
    const server = await startServerProcess({ chain, dataDir: path.join(work, 'data') });
    defer(() => server.stop());
    const { sha256, blobUrl } = await publish(chain, server, file, 'bench', ++modelId, modelId === 1n);
    const port = await freePort();
    const plain = spawn(process.execPath, ['-e', PLAIN_SERVER, file, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    defer(() => plain.kill('SIGKILL'));
    await new Promise<void>((resolve) => plain.stdout!.once('data', () => resolve()));
    const plainUrl = `http://127.0.0.1:${port}/weights.bin`;
    const r = await alternate(
      runs,
      sha256,
      { name: 'modeldao', get: () => download(blobUrl) },
      { name: 'plain node:http', get: () => download(plainUrl) },
      log,
    );
    out.modeldao_MiB_per_s = +r.a.toFixed(1);
    out.plain_node_http_MiB_per_s = +r.b.toFixed(1);
    out.ratio_vs_plain = +(r.a / r.b).toFixed(3);
    goals.push('local store: GET /api/blobs (published blob, sha256 checked by the client) >= 0.8x a plain node:http file server');
    met &&= r.a / r.b >= 0.8;
    await server.stop();
    plain.kill('SIGKILL');
  }

  if (stores.includes('s3')) {
    const swift = await startSwift();
    defer(() => swift.stop());
    const prefix = 'bench/';
    const server = await startServerProcess({
      chain,
      dataDir: path.join(work, 'data-s3'),
      env: {
        STORE: 's3',
        S3_BUCKET: swift.bucket!,
        S3_PREFIX: prefix,
        S3_ENDPOINT: swift.endpoint,
        S3_REGION: swift.region,
        S3_ACCESS_KEY_ID: swift.accessKeyId,
        S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
      },
    });
    defer(() => server.stop());
    const { sha256, blobUrl } = await publish(chain, server, file, 'bench-s3', ++modelId, modelId === 1n);
    const s3 = swift.client();
    defer(() => s3.destroy());
    const key = `${prefix}blobs/${sha256.slice(0, 2)}/${sha256}`;
    const direct = async () => {
      const t0 = process.hrtime.bigint();
      const r = await s3.send(new GetObjectCommand({ Bucket: swift.bucket!, Key: key, Range: `bytes=0-${size - 1}` }));
      return drain(t0, r.Body as Readable);
    };
    const r = await alternate(runs, sha256, { name: 'modeldao (S3 store)', get: () => download(blobUrl) }, { name: 'direct SDK ranged GET', get: direct }, log);
    out.s3_modeldao_MiB_per_s = +r.a.toFixed(1);
    out.s3_direct_sdk_MiB_per_s = +r.b.toFixed(1);
    out.s3_ratio_vs_direct = +(r.a / r.b).toFixed(3);
    goals.push('S3 store (Swift s3api): GET /api/blobs through the app server >= 0.8x a direct ranged GET of the object with the AWS SDK');
    met &&= r.a / r.b >= 0.8;
  }
  return { ...out, goal: goals.join('; '), goal_met: met };
});
