// npm run bench:api [-- --seconds 5 --rounds 3]
// Requests/s and p99 of GET /api/models/{slug}/current from the real server (lib/server/main.ts,
// plain API only, index caught up) beside a plain node:http server answering a same-sized JSON
// document with JSON.stringify per request. Both servers run in this process pinned to core 0; the
// load generator (10 keep-alive connections) runs pinned to core 1. Rounds alternate; medians.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { startAnvil, deployContracts, freePort, repoRoot } from '../lib/devchain/anvil.ts';
import { parseEnv } from '../lib/env.ts';
import { startServer } from '../lib/server/main.ts';
import { invalidateModelsCache } from '../lib/server/routes/models.ts';
import { openDatabase } from '../db/client.ts';
import { recordManifest } from '../lib/artifacts/catalog.ts';
import { makeVersion, publish } from '../tests/helpers/consumer.ts';
import { median, runBench } from './bench/harness.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '10' } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = values.connections!;
const cores = os.cpus().length;

function load(url: string): Promise<{ rps: number; p99_ms: number; p50_ms: number; non2xx: number; errors: number }> {
  const gen = path.join(repoRoot, 'scripts', 'bench', 'api-loadgen.ts');
  const args = [process.execPath, '--import', 'tsx', gen, url, connections, String(seconds * 1000)];
  const cmd = cores > 1 ? 'taskset' : args.shift()!;
  if (cores > 1) args.unshift('-c', '1');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
  });
}

await runBench('api', async ({ defer, log }) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-api-'));
  defer(() => fs.rmSync(work, { recursive: true, force: true }));
  if (cores > 1) execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
  const anvil = await startAnvil();
  defer(() => anvil.stop());
  const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl, { deploymentFile: path.join(work, 'deployment.json') });
  const v = makeVersion('tiny-lm', {
    'model-00001-of-00002.safetensors': 1000,
    'model-00002-of-00002.safetensors': 1000,
    'config.json': 100,
    'tokenizer.json': 100,
  });
  await publish({ ...anvil, deployment, deploymentFile }, 'tiny-lm', v);

  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(await freePort()),
    RPC_URL: anvil.rpcUrl,
    DEPLOYMENT_FILE: deploymentFile,
    MODELDAO_DATA_DIR: path.join(work, 'data'),
    DATABASE_URL: undefined,
  });
  const server = await startServer({ env, deployment, withNext: false, log: () => {} });
  defer(() => server.close());
  await server.waitForIndex();
  // The manifest as POST /api/manifests would have recorded it (same PGlite handle: one per data dir per process).
  const database = await openDatabase(env);
  defer(() => database.close());
  await recordManifest(database.db, {
    digest: v.digest,
    model: 'tiny-lm',
    parent: null,
    canonical: v.manifestBytes.toString('utf8'),
    submittedBy: null,
    files: (v.manifest.files as { path: string; sha256: string; size: number }[]).map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
    ttlSeconds: 3600,
  });
  invalidateModelsCache(database.db);
  const target = `${server.url}/api/models/tiny-lm/current`;
  const sample = await fetch(target);
  if (sample.status !== 200) throw new Error(`${target} answered ${sample.status}: ${await sample.text()}`);
  const doc = await sample.json();
  if (!doc.manifest) throw new Error('the current version came back without its manifest');

  // Reference: same document, serialized per request, plain node:http.
  const plain = http.createServer((_req, res) => {
    const body = JSON.stringify(doc);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  defer(() => new Promise((r) => (plain.closeAllConnections(), plain.close(r))));
  const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`;

  await load(target); // warm-up (JIT, first build of the cached answer)
  await load(plainUrl);
  const ours: { rps: number; p99_ms: number }[] = [];
  const ref: { rps: number; p99_ms: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = await load(target);
    if (a.non2xx || a.errors) throw new Error(`modeldao answered ${a.non2xx} non-2xx, ${a.errors} errors`);
    const b = await load(plainUrl);
    ours.push(a);
    ref.push(b);
    log(
      `round ${i + 1}: /api/models/tiny-lm/current ${a.rps.toFixed(0)} req/s p99 ${a.p99_ms.toFixed(2)} ms · plain node:http ${b.rps.toFixed(0)} req/s p99 ${b.p99_ms.toFixed(2)} ms`,
    );
  }
  const rps = median(ours.map((x) => x.rps));
  const p99 = median(ours.map((x) => x.p99_ms));
  const refRps = median(ref.map((x) => x.rps));
  const refP99 = median(ref.map((x) => x.p99_ms));
  const ratio = rps / refRps;
  return {
    route: 'GET /api/models/{slug}/current',
    connections: Number(connections),
    seconds_per_round: seconds,
    rounds,
    body_bytes: Buffer.byteLength(JSON.stringify(doc)),
    modeldao_rps: Math.round(rps),
    modeldao_p99_ms: +p99.toFixed(2),
    plain_node_http_rps: Math.round(refRps),
    plain_node_http_p99_ms: +refP99.toFixed(2),
    rps_ratio_modeldao_over_plain: +ratio.toFixed(3),
    goal: 'requests/s at least 0.3x a plain node:http JSON server, p99 at most 20 ms, at 10 connections',
    goal_met: ratio >= 0.3 && p99 <= 20,
    pinned: cores > 1 ? 'servers core 0, load generator core 1' : 'single core: not pinned',
  };
});
