// npm run bench:events [-- --runs 5 --size 256MiB --clients 1000]
// On a local anvil with the server as a child process (lib/server/start.ts, PGlite): time from the
// block of a registry change (made as the timelock, as an executed proposal would) to
//   (a) the SSE event at a client, (b) the webhook at a local receiver, and the reference: a client
//   polling the chain every second (what a consumer did before), all in the same runs;
//   (c) `modeldao watch` switching DIR to a new --size model, against `modeldao pull` of the same
//   version into an empty cache (the pull time);
// and --clients SSE clients connected: events/s delivered to all of them and the server's RSS growth.
// Medians of --runs. Last line: one JSON object.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createPublicClient, http as viemHttp, type Address } from 'viem';
import { modelRegistryAbi } from '../lib/contracts/generated.ts';
import { repoRoot } from '../lib/devchain/anvil.ts';
import { SseParser } from '../lib/sdk/events.ts';
import { asTimelock, makeVersion, modelIdOf, publish, startGateway, startTestChain } from '../tests/helpers/consumer.ts';
import { startServerProcess, type UploadChain, parseSize } from '../tests/helpers/server-process.ts';
import { median } from './bench/harness.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, size: { type: 'string', default: '256MiB' }, clients: { type: 'string', default: '1000' } },
});
const runs = Math.max(1, Number(values.runs));
const size = parseSize(values.size!);
const clients = Math.max(1, Number(values.clients));
const log = (s: string) => process.stderr.write(s + '\n');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-events-'));
const CLI = path.join(repoRoot, 'lib', 'cli', 'modeldao.mjs');

async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const chain = await startTestChain();
const upload = { anvil: { rpcUrl: chain.rpcUrl }, deployment: chain.deployment, deploymentFile: chain.deploymentFile } as unknown as UploadChain;
const hooks: { at: number; txHash: string }[] = [];
const rx = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    hooks.push({ at: performance.now(), txHash: JSON.parse(body).txHash });
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => rx.listen(0, '127.0.0.1', () => r()));
const hooksFile = path.join(work, 'webhooks.json');
fs.writeFileSync(
  hooksFile,
  JSON.stringify([
    { id: 'bench', url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/`, secret: 'bench-secret-0123456789', kinds: ['version.current'] },
  ]),
);
const server = await startServerProcess({ chain: upload, dataDir: path.join(work, 'data'), env: { WEBHOOKS_FILE: hooksFile, INDEXER_POLL_MS: '250' } });
const result: Record<string, unknown> = {};
try {
  // ---- (a) SSE, (b) webhook, reference: 1 s chain polling ----
  const v1 = makeVersion('bench-lm', { 'w.bin': 1000 });
  const v2 = makeVersion('bench-lm', { 'w.bin': 1001 });
  await publish(chain, 'bench-lm', v1);
  await publish(chain, 'bench-lm', v2, { parent: 1 });
  const modelId = await modelIdOf(chain, 'bench-lm');
  const sse: { at: number; txHash: string }[] = [];
  const req = http.get(`${server.url}/api/events?kind=version.current`, (res) => {
    const p = new SseParser();
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      for (const e of p.push(c)) sse.push({ at: performance.now(), txHash: JSON.parse(e.data).txHash });
    });
  });
  req.on('error', () => {});
  const pub = createPublicClient({ transport: viemHttp(chain.rpcUrl) });
  const a: number[] = [];
  const b: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < runs; i++) {
    const target = i % 2 === 0 ? 1 : 2;
    // reference: a poller reading currentVersion every 1000 ms, phase random like a real one
    let refAt = 0;
    let stopRef = false;
    const poller = (async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
      while (!stopRef) {
        const [, , current] = (await pub.readContract({
          address: chain.deployment.contracts.ModelRegistry,
          abi: modelRegistryAbi,
          functionName: 'getModel',
          args: [modelId],
        })) as readonly [string, number, number, unknown];
        if (current === target && refAt === 0) refAt = performance.now();
        if (refAt) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const tx = await asTimelock(chain, 'setCurrentVersion', [modelId, target]);
    const mined = performance.now(); // the receipt: the block exists
    await until(() => sse.some((e) => e.txHash === tx) && hooks.some((h) => h.txHash === tx) && refAt > 0);
    stopRef = true;
    await poller;
    a.push(sse.find((e) => e.txHash === tx)!.at - mined);
    b.push(hooks.find((h) => h.txHash === tx)!.at - mined);
    ref.push(refAt - mined);
    log(`run ${i + 1}: sse ${a.at(-1)!.toFixed(0)} ms, webhook ${b.at(-1)!.toFixed(0)} ms, 1 s poller ${ref.at(-1)!.toFixed(0)} ms`);
  }
  req.destroy();
  Object.assign(result, {
    sse_latency_ms_median: Math.round(median(a)),
    webhook_latency_ms_median: Math.round(median(b)),
    poll_1s_reference_latency_ms_median: Math.round(median(ref)),
    sse_vs_polling_ratio: Number((median(ref) / Math.max(1, median(a))).toFixed(2)),
    sse_latencies_ms: a.map(Math.round),
    webhook_latencies_ms: b.map(Math.round),
  });

  // ---- (c) watch switching DIR vs pull time ----
  const big = makeVersion('big-lm', { 'model.safetensors': Buffer.alloc(size, 7), 'config.json': Buffer.from('{}') });
  const small = makeVersion('big-lm', { 'config.json': Buffer.from('{"v":0}') });
  const gw = await startGateway([big, small]);
  try {
    await publish(chain, 'big-lm', small);
    const bigId = await modelIdOf(chain, 'big-lm');
    const out = path.join(work, 'watch', 'model');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'watch',
        'big-lm',
        '--out',
        out,
        '--rpc',
        chain.rpcUrl,
        '--deployment',
        chain.deploymentFile,
        '--gateway',
        gw.url,
        '--events',
        server.url,
        '--quiet',
      ],
      { env: { ...process.env, MODELDAO_CACHE: path.join(work, 'watch-cache') }, stdio: 'ignore' },
    );
    const version = () => {
      try {
        return JSON.parse(fs.readFileSync(path.join(out, '.modeldao', 'origin.json'), 'utf8')).version as number;
      } catch {
        return 0;
      }
    };
    await until(() => version() === 1, 120_000);
    const tx0 = performance.now();
    await asTimelock(chain, 'publishVersion', [bigId, big.digest, 1]);
    const mined = performance.now();
    await until(() => version() === 2, 600_000);
    const watchMs = performance.now() - mined;
    child.kill('SIGTERM');
    void tx0;
    // reference: a cold pull of the same version
    const pullStart = performance.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        process.execPath,
        [
          CLI,
          'pull',
          'big-lm',
          '--rpc',
          chain.rpcUrl,
          '--deployment',
          chain.deploymentFile,
          '--gateway',
          gw.url,
          '--out',
          path.join(work, 'pulled'),
          '--quiet',
        ],
        { env: { ...process.env, MODELDAO_CACHE: path.join(work, 'pull-cache') }, stdio: 'ignore' },
      );
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pull exited ${code}`))));
    });
    const pullMs = performance.now() - pullStart;
    log(`watch: DIR switched ${watchMs.toFixed(0)} ms after the block; cold pull ${pullMs.toFixed(0)} ms (${(size / 2 ** 20).toFixed(0)} MiB)`);
    Object.assign(result, {
      model_mib: Math.round(size / 2 ** 20),
      watch_switch_ms: Math.round(watchMs),
      pull_reference_ms: Math.round(pullMs),
      watch_overhead_ms: Math.round(watchMs - pullMs),
    });
  } finally {
    await gw.close();
  }

  // ---- N SSE clients: delivery rate and server RSS ----
  const rssIdle = server.rss();
  let received = 0;
  const conns: http.ClientRequest[] = [];
  for (let i = 0; i < clients; i++) {
    await new Promise<void>((resolve, reject) => {
      const r = http.get({ host: '127.0.0.1', port: new URL(server.url).port, path: '/api/events?kind=access.changed', agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => (received += (c.match(/^event: /gm) ?? []).length));
        resolve();
      });
      r.on('error', reject);
      conns.push(r);
    });
  }
  const rssConnected = server.rss();
  const EVENTS = 200;
  const accounts = Array.from({ length: EVENTS }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as Address);
  const t0 = performance.now();
  await asTimelock(chain, 'setAllowlist', [modelId, accounts, true]);
  await until(() => received >= EVENTS * clients, 300_000);
  const secs = (performance.now() - t0) / 1000;
  const rssAfter = server.rss();
  for (const c of conns) c.destroy();
  log(
    `${clients} clients: ${EVENTS} events each in ${secs.toFixed(2)} s; server RSS idle ${(rssIdle / 2 ** 20).toFixed(0)} MiB, connected ${(rssConnected / 2 ** 20).toFixed(0)} MiB, after ${(rssAfter / 2 ** 20).toFixed(0)} MiB`,
  );
  Object.assign(result, {
    sse_clients: clients,
    events_per_s_delivered: Math.round((EVENTS * clients) / secs),
    server_rss_idle_mib: Math.round(rssIdle / 2 ** 20),
    server_rss_growth_mib: Math.round((Math.max(rssConnected, rssAfter) - rssIdle) / 2 ** 20),
  });
  const goalMet =
    (result.sse_latency_ms_median as number) <= 2000 &&
    (result.webhook_latency_ms_median as number) <= 2000 &&
    (result.watch_switch_ms as number) <= (result.pull_reference_ms as number) + 2000 &&
    (result.server_rss_growth_mib as number) <= 256;
  console.log(
    JSON.stringify({
      ...result,
      runs,
      goal: '(a) SSE and (b) webhook within 2 s of the block (measured from the mined block, which includes indexing), (c) watch switches DIR within pull time + 2 s, server RSS growth <= 256 MiB at 1,000 clients; sse_vs_polling_ratio > 1 means the stream beats a 1 s chain poller',
      goal_met: goalMet,
    }),
  );
} finally {
  await server.stop();
  rx.close();
  await chain.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
