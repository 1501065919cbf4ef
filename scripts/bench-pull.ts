// npm run bench:pull [-- --size 2GiB --runs 3]
// A model of `size` bytes in two shards, uploaded to the real server (POST /api/uploads, /api/manifests),
// published on a local anvil (registry calls made as the timelock via anvil_impersonateAccount) and
// served by GET /api/blobs (`--server plain`: a bare node:http file server instead).
// Times `modeldao pull` (cold cache: a fresh cache dir each run) against `curl -o` of the same files
// followed by `openssl dgst -sha256`, alternating, in the same run. Medians. Last line: JSON.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { startAnvil, deployContracts, repoRoot } from '../lib/devchain/anvil.ts';
import { startTestServer } from '../tests/helpers/test-server.ts';
import { makeVersion, publish, uploadAndPublish } from '../tests/helpers/consumer.ts';
import { median, runBench, type Bench } from './bench/harness.ts';
import { parseSize, timedExec, writeRandomFile } from './bench/tools.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '2GiB' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string' },
    server: { type: 'string', default: 'real' },
  },
});
const total = parseSize(values.size!);
const runs = Math.max(1, Number(values.runs));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-pull-'));

const exec = timedExec(path.join(work, 'cpu.txt'));

async function main({ defer, log }: Bench) {
  defer(() => fs.rmSync(work, { recursive: true, force: true }));
  log(`bench:pull — ${(total / 1024 ** 3).toFixed(2)} GiB in two shards, ${runs} run(s) each, alternating`);
  const srcDir = path.join(work, 'src');
  fs.mkdirSync(srcDir);
  const half = Math.floor(total / 2);
  const shards = [
    { name: 'model-00001-of-00002.bin', size: half },
    { name: 'model-00002-of-00002.bin', size: total - half },
  ];
  const blobs = new Map<string, string>();
  for (const s of shards) {
    const file = path.join(srcDir, s.name);
    const sha = writeRandomFile(file, s.size);
    blobs.set(sha, file);
    Object.assign(s, { sha256: sha });
  }
  const anvil = await startAnvil();
  defer(() => anvil.stop());
  const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl, { deploymentFile: path.join(work, 'deployment.json') });
  const chain = { ...anvil, deployment, deploymentFile };
  const canonicalize = (await import('canonicalize')).default;
  const v = makeVersion('bench-lm', {});
  let gw: string;

  if (values.server === 'real') {
    // The real server (lib/server/main.ts, plain API, in-process indexer): shards uploaded through
    // POST /api/uploads, manifest through POST /api/manifests, version published on chain, served by
    // GET /api/blobs once the index has it.
    const server = await startTestServer(chain, path.join(work, 'data'), { NODE_ENV: 'production', INDEXER_POLL_MS: '200' });
    defer(() => server.close());
    gw = server.url;
    const { files } = await uploadAndPublish({
      chain,
      gateway: gw,
      slug: 'bench-lm',
      files: shards.map((s) => ({ path: s.name, file: path.join(srcDir, s.name) })),
    });
    await server.waitForIndex();
    // Publication pins the blobs (indexer onAdvance → syncPins); wait until they are served.
    for (let i = 0; ; i++) {
      const r = await fetch(`${gw}/api/blobs/${files[0]!.sha256}`, { method: 'HEAD' });
      if (r.ok) break;
      if (i > 100) throw new Error(`blob not served after publication: ${r.status}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } else {
    // A plain node:http file server (manifests and blobs, Range-capable).
    Object.assign(v.manifest, { files: shards.map((s) => ({ path: s.name, size: s.size, sha256: (s as { sha256?: string }).sha256 })) });
    v.manifestBytes = Buffer.from(canonicalize(v.manifest) as string);
    v.digest = `0x${crypto.createHash('sha256').update(v.manifestBytes).digest('hex')}`;
    await publish(chain, 'bench-lm', v);
    const server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === `/api/manifests/${v.digest}`)
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': v.manifestBytes.length }).end(v.manifestBytes);
      const m = /^\/api\/blobs\/([0-9a-f]{64})$/.exec(url);
      const file = m && blobs.get(m[1]!);
      if (!file) return void res.writeHead(404).end();
      const size = fs.statSync(file).size;
      const r = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
      const start = r ? Number(r[1]) : 0;
      res.writeHead(r ? 206 : 200, {
        'content-type': 'application/octet-stream',
        'content-length': size - start,
        ...(r ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
      });
      fs.createReadStream(file, { start, highWaterMark: 1024 * 1024 }).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    defer(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    gw = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const cli = path.join(repoRoot, 'lib', 'cli', 'modeldao.mjs');
  const cliArgs = [
    'pull',
    'bench-lm',
    '--rpc',
    anvil.rpcUrl,
    '--deployment',
    deploymentFile,
    '--gateway',
    gw,
    '--quiet',
    '--json',
    ...(values.concurrency ? ['--concurrency', values.concurrency] : []),
  ];

  // Warm-up: bundles the CLI if needed and puts the source files in the page cache for both sides.
  {
    const warm = path.join(work, 'warm-cache');
    await exec(process.execPath, [cli, ...cliArgs, '--cache', warm]);
    fs.rmSync(warm, { recursive: true, force: true });
  }

  const pullMs: number[] = [];
  const refMs: number[] = [];
  const pullCpu: number[] = [];
  const refCpu: number[] = [];
  // Each measurement starts with no dirty pages left by the previous one (`sync`, untimed), and the
  // order alternates (ABBA…) so neither side always inherits the other's page-cache state.
  const timePull = async (i: number) => {
    const cache = path.join(work, `cache-${i}`);
    execFileSync('sync');
    const r = await exec(process.execPath, [cli, ...cliArgs, '--cache', cache]);
    const out = JSON.parse(r.stdout) as { files: { sha256: string; localPath: string }[]; timings: Record<string, number> };
    if (out.files.length !== 2) throw new Error('pull did not return two files');
    log(`  pull phases: ${JSON.stringify(out.timings)}`);
    pullMs.push(r.ms);
    pullCpu.push(r.cpu);
    fs.rmSync(cache, { recursive: true, force: true });
  };
  const timeRef = async (i: number) => {
    const refDir = path.join(work, `curl-${i}`);
    fs.mkdirSync(refDir);
    execFileSync('sync');
    const t0 = performance.now();
    const curlArgs = ['-sSf'];
    for (const s of shards) curlArgs.push('-o', path.join(refDir, s.name), `${gw}/api/blobs/${(s as { sha256?: string }).sha256}`);
    const c = await exec('curl', curlArgs);
    const dg = await exec('openssl', ['dgst', '-sha256', ...shards.map((s) => path.join(refDir, s.name))]);
    refMs.push(performance.now() - t0);
    refCpu.push(c.cpu + dg.cpu);
    for (const s of shards) if (!dg.stdout.includes((s as { sha256?: string }).sha256!)) throw new Error('curl+openssl produced a different hash');
    fs.rmSync(refDir, { recursive: true, force: true });
  };
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      await timePull(i);
      await timeRef(i);
    } else {
      await timeRef(i);
      await timePull(i);
    }
    log(
      `run ${i + 1}: modeldao pull ${(pullMs[i]! / 1000).toFixed(2)} s (cpu ${pullCpu[i]!.toFixed(2)} s) · curl+openssl ${(refMs[i]! / 1000).toFixed(2)} s (cpu ${refCpu[i]!.toFixed(2)} s)`,
    );
  }
  const pull = median(pullMs);
  const ref = median(refMs);
  const ratio = ref / pull;
  const result = {
    size_bytes: total,
    shards: 2,
    runs,
    pull_median_s: +(pull / 1000).toFixed(3),
    curl_openssl_median_s: +(ref / 1000).toFixed(3),
    pull_throughput_mib_per_s: +(total / 1024 ** 2 / (pull / 1000)).toFixed(1),
    curl_openssl_throughput_mib_per_s: +(total / 1024 ** 2 / (ref / 1000)).toFixed(1),
    server: values.server === 'real' ? 'lib/server/main.ts (GET /api/blobs)' : 'plain node:http file server',
    speed_ratio_curl_over_pull: +ratio.toFixed(3),
    pull_cpu_median_s: +median(pullCpu).toFixed(2),
    curl_openssl_cpu_median_s: +median(refCpu).toFixed(2),
    cpu_ratio_curl_over_pull: +(median(refCpu) / median(pullCpu)).toFixed(3),
    goal: 'modeldao pull (cold cache, verifying every byte against the chain) takes at most as long as curl -o + openssl dgst -sha256 (ratio >= 1)',
    goal_met: ratio >= 1,
    cores: os.cpus().length,
  };
  return result;
}

await runBench('pull', main);
