// npm run bench:web — server render time and first-load JS of the governance pages at scale.
// Seeds 1,000 proposals and 50,000 votes on a fresh anvil, indexes them, builds the production app
// (own distDir), serves it through the real custom server, and measures:
//   - median server render time of /proposals and of one proposal page (n requests after warm-up);
//   - reference in the same run: the database read those pages start from (all proposal rows), so
//     the render figure can be read against the raw data cost;
//   - first-load JS per page, gzipped: every <script src> the HTML loads, fetched and gzipped.
// Last line: one JSON object. Cleans up anvil, the server and its temp dir.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { encodeAbiParameters, encodeFunctionData, keccak256, parseUnits, toBytes, toHex, type Address, type Hex } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi } from '../lib/contracts/generated.ts';
import { startAnvil, deployContracts, freePort, DEV_ACCOUNTS } from '../lib/devchain/anvil.ts';
import { median, runBench } from './bench/harness.ts';

const PROPOSALS = Number(process.env.BENCH_PROPOSALS ?? 1000);
const VOTERS = Number(process.env.BENCH_VOTERS ?? 50); // votes = PROPOSALS × VOTERS
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 9);
const DIST_DIR = '.next/bench';

async function rpcBatch(url: string, calls: { method: string; params: unknown[] }[]): Promise<unknown[]> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }))),
  });
  const body = (await res.json()) as { id: number; result?: unknown; error?: { message: string } }[];
  body.sort((a, b) => a.id - b.id);
  for (const r of body) if (r.error) throw new Error(`${calls[r.id]!.method}: ${r.error.message}`);
  return body.map((r) => r.result);
}

/**
 * Sends txs in batches with automine off (a block holds txs up to 100 M gas by their gas limit, so
 * batch × gas stays below it), mines until every tx of the batch has a receipt, checks each status.
 */
async function sendAll(url: string, txs: { from: Address; to: Address; data: Hex }[], gas: number) {
  const batch = Math.floor(90_000_000 / gas);
  // Explicit nonces: anvil handles a JSON-RPC batch concurrently, so many txs from one sender
  // would otherwise get the same pending nonce.
  const senders = [...new Set(txs.map((t) => t.from))];
  const counts = (await rpcBatch(
    url,
    senders.map((a) => ({ method: 'eth_getTransactionCount', params: [a, 'pending'] })),
  )) as Hex[];
  const nonces = new Map(senders.map((a, i) => [a, BigInt(counts[i]!)]));
  for (let i = 0; i < txs.length; i += batch) {
    const chunk = txs.slice(i, i + batch).map((t) => {
      const nonce = nonces.get(t.from)!;
      nonces.set(t.from, nonce + 1n);
      return { ...t, gas: toHex(gas), nonce: toHex(nonce) };
    });
    const hashes = (await rpcBatch(
      url,
      chunk.map((t) => ({ method: 'eth_sendTransaction', params: [t] })),
    )) as Hex[];
    let receipts: ({ status: Hex } | null)[] = [];
    for (let round = 0; round < 20; round++) {
      await rpcBatch(url, [{ method: 'evm_mine', params: [] }]);
      receipts = (await rpcBatch(
        url,
        hashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })),
      )) as ({ status: Hex } | null)[];
      if (receipts.every(Boolean)) break;
    }
    const failed = receipts.filter((r) => !r || r.status !== '0x1').length;
    if (failed) throw new Error(`${failed} of ${chunk.length} transactions failed or were not mined in batch at ${i}`);
  }
}

let buildChild: import('node:child_process').ChildProcess | null = null;

function buildNext(): Promise<void> {
  // next build rewrites tsconfig.json (adds its distDir's type paths); keep the committed file as it is.
  const tsconfig = fs.readFileSync('tsconfig.json', 'utf8');
  const restore = () => fs.writeFileSync('tsconfig.json', tsconfig);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(path.resolve('node_modules/.bin/next'), ['build'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MODELDAO_NEXT_DIST_DIR: DIST_DIR, MODELDAO_SKIP_BUILD_TYPECHECK: '1', NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    });
    buildChild = child;
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed (${code}):\n${out.slice(-4000)}`))));
  }).finally(restore);
}

async function timeGet(url: string): Promise<{ ms: number; html: string; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const html = await res.text();
  return { ms: performance.now() - t0, html, status: res.status };
}

async function firstLoadJsGzipKb(base: string, pagePath: string): Promise<number> {
  const { html } = await timeGet(base + pagePath);
  const srcs = new Set<string>();
  // noModule scripts (Next's legacy polyfills) are never fetched by browsers that run modules;
  // Next's own "First Load JS" leaves them out too.
  for (const m of html.matchAll(/<script([^>]+)src="([^"]+)"([^>]*)>/g)) {
    if (/\snomodule/i.test(` ${m[1]} ${m[3]}`)) continue;
    srcs.add(m[2]!);
  }
  let total = 0;
  for (const src of srcs) {
    const res = await fetch(new URL(src.replace(/&amp;/g, '&'), base));
    total += zlib.gzipSync(Buffer.from(await res.arrayBuffer())).length;
  }
  return Math.round((total / 1024) * 10) / 10;
}

await runBench('web', async ({ defer, log }) => {
  process.chdir(path.resolve(import.meta.dirname, '..'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-web-'));
  defer(() => fs.rmSync(tmp, { recursive: true, force: true }));
  log('building the production app…');
  const tBuild = performance.now();
  const build = buildNext();
  // Ctrl-C during the build: stop next build and wait for it, so tsconfig.json is restored.
  defer(async () => {
    buildChild?.kill('SIGTERM');
    await build.catch(() => {});
  });
  build.catch(() => {}); // awaited after seeding; without this an early build failure would end the process before the cleanups

  const anvil = await startAnvil({});
  defer(() => anvil.stop());
  const url = anvil.rpcUrl;
  // Votes must land inside the voting period even on a slow machine: a week of chain time.
  const { deployment, deploymentFile } = await deployContracts(url, {
    deploymentFile: path.join(tmp, 'deployment.json'),
    env: { VOTING_PERIOD: String(7 * 86400) },
  });
  const c = deployment.contracts;
  log(`deployed; seeding ${PROPOSALS} proposals × ${VOTERS} voters`);
  const tSeed = performance.now();

  const voters = Array.from({ length: VOTERS }, (_, i) => `0x${(0xbe7c00 + i).toString(16).padStart(40, '0')}` as Address);
  await rpcBatch(
    url,
    voters.flatMap((v) => [
      { method: 'anvil_impersonateAccount', params: [v] },
      { method: 'anvil_setBalance', params: [v, toHex(10n ** 20n)] },
    ]),
  );
  await rpcBatch(url, [{ method: 'evm_setAutomine', params: [false] }]);
  const holders = DEV_ACCOUNTS.slice(0, 5).map((a) => a.address as Address);
  const proposer = holders[0]!;
  await sendAll(
    url,
    [
      { from: proposer, to: c.ModelToken, data: encodeFunctionData({ abi: modelTokenAbi, functionName: 'delegate', args: [proposer] }) },
      ...voters.map((v, i) => ({
        from: holders[1 + (i % 4)]!,
        to: c.ModelToken,
        data: encodeFunctionData({ abi: modelTokenAbi, functionName: 'transfer', args: [v, parseUnits('1000', 18)] }),
      })),
    ],
    200_000,
  );
  await sendAll(
    url,
    voters.map((v) => ({ from: v, to: c.ModelToken, data: encodeFunctionData({ abi: modelTokenAbi, functionName: 'delegate', args: [v] }) })),
    200_000,
  );
  await rpcBatch(url, [
    { method: 'evm_increaseTime', params: [2] },
    { method: 'evm_mine', params: [] },
  ]);
  // The model the proposals publish to, with a current version (publishVersion makes it current), so the model page measured below is
  // a real one. Set up as the timelock directly (impersonated): seeding, not the governance under test.
  await rpcBatch(url, [
    { method: 'anvil_impersonateAccount', params: [c.TimelockController] },
    { method: 'anvil_setBalance', params: [c.TimelockController, toHex(10n ** 20n)] },
  ]);
  await sendAll(
    url,
    [
      {
        from: c.TimelockController,
        to: c.ModelRegistry,
        data: encodeFunctionData({
          abi: modelRegistryAbi,
          functionName: 'registerModel',
          args: ['tiny-lm', { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }],
        }),
      },
    ],
    500_000,
  );
  await sendAll(
    url,
    [
      {
        from: c.TimelockController,
        to: c.ModelRegistry,
        data: encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [1n, keccak256(toBytes('bench manifest v1')), 0] }),
      },
    ],
    500_000,
  );

  const ids: bigint[] = [];
  const proposeTxs = Array.from({ length: PROPOSALS }, (_, i) => {
    const digest = keccak256(toBytes(`bench manifest ${i}`));
    const targets = [c.ModelRegistry];
    const values = [0n];
    const calldatas = [encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [1n, digest, 1] })];
    const description = `# Bench proposal ${i}: publish a retrained tiny-lm\n\nRetrained on shard ${i}. Evals attached.\n\n#proposer=${proposer}`;
    ids.push(
      BigInt(
        keccak256(
          encodeAbiParameters(
            [{ type: 'address[]' }, { type: 'uint256[]' }, { type: 'bytes[]' }, { type: 'bytes32' }],
            [targets, values, calldatas, keccak256(toBytes(description))],
          ),
        ),
      ),
    );
    return {
      from: proposer,
      to: c.ModelGovernor,
      data: encodeFunctionData({ abi: modelGovernorAbi, functionName: 'propose', args: [targets, values, calldatas, description] }),
    };
  });
  await sendAll(url, proposeTxs, 600_000);
  await rpcBatch(url, [
    { method: 'evm_increaseTime', params: [2] },
    { method: 'evm_mine', params: [] },
  ]);
  const voteTxs = ids.flatMap((id, p) =>
    voters.map((v, i) => ({
      from: v,
      to: c.ModelGovernor,
      data: encodeFunctionData({
        abi: modelGovernorAbi,
        functionName: 'castVoteWithReason',
        args: [id, ((i + p) % 3) as 0 | 1 | 2, i % 10 === 0 ? `Reason ${i} on ${p}: looks **fine**.` : ''],
      }),
    })),
  );
  await sendAll(url, voteTxs, 250_000);
  await rpcBatch(url, [{ method: 'evm_setAutomine', params: [true] }]);
  const seedSeconds = (performance.now() - tSeed) / 1000;
  log(`seeded ${ids.length} proposals and ${voteTxs.length} votes in ${seedSeconds.toFixed(0)} s; waiting for the build…`);
  await build;
  const buildSeconds = (performance.now() - tBuild) / 1000;

  // The real server: plain routes + the production Next build, indexer in-process.
  const port = await freePort();
  Object.assign(process.env, { MODELDAO_NEXT_DIST_DIR: DIST_DIR, NEXT_TELEMETRY_DISABLED: '1' });
  const { parseEnv } = await import('../lib/env.ts');
  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    ANVIL_PORT: String(anvil.port),
    DEPLOYMENT_FILE: deploymentFile,
    MODELDAO_DATA_DIR: path.join(tmp, 'data'),
    RPC_URL: undefined,
    DATABASE_URL: undefined,
  });
  const { startServer } = await import('../lib/server/main.ts');
  const tIndex = performance.now();
  const server = await startServer({ env, dev: false, withNext: true, log: () => {} });
  defer(() => server.close());
  await server.waitForIndex(30 * 60_000);
  const indexSeconds = (performance.now() - tIndex) / 1000;
  log(`indexed in ${indexSeconds.toFixed(0)} s; measuring`);

  const base = server.url;
  const proposalPath = `/proposals/${ids[Math.floor(ids.length / 2)]}`;
  const pages: Record<string, string> = { '/proposals': '/proposals', '/proposals/[id]': proposalPath, '/models/[slug]': '/models/tiny-lm' };
  const render: Record<string, number> = {};
  for (const [name, p] of Object.entries(pages)) {
    for (let i = 0; i < 2; i++) await timeGet(base + p); // warm-up
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const r = await timeGet(base + p);
      if (r.status !== 200) {
        const list = await timeGet(base + '/proposals');
        const health = await timeGet(base + '/api/health');
        throw new Error(
          `${p} answered ${r.status}; listed: ${[...list.html.matchAll(/href="\/proposals\/(\d+)"/g)]
            .slice(0, 3)
            .map((m) => m[1])
            .join(', ')}; health ${health.html}`,
        );
      }
      times.push(r.ms);
    }
    render[name] = Math.round(median(times) * 10) / 10;
  }
  // Reference: the raw read every proposal page render starts from (all proposal rows).
  const { openDatabase } = await import('../db/client.ts');
  const { proposal } = await import('../db/schema/index.ts');
  const database = await openDatabase(env);
  const refTimes: number[] = [];
  for (let i = 0; i < REQUESTS + 2; i++) {
    const t0 = performance.now();
    await database.db.select().from(proposal);
    if (i >= 2) refTimes.push(performance.now() - t0);
  }
  await database.close();
  const referenceMs = Math.round(median(refTimes) * 10) / 10;

  const jsKb: Record<string, number> = {};
  for (const p of ['/', '/models/tiny-lm', '/proposals', proposalPath, '/proposals/new', '/delegates']) {
    const name = p === proposalPath ? '/proposals/[id]' : p === '/models/tiny-lm' ? '/models/[slug]' : p;
    jsKb[name] = await firstLoadJsGzipKb(base, p);
  }
  const maxRender = Math.max(...Object.values(render));
  const maxJs = Math.max(...Object.values(jsKb));
  const result = {
    proposals: ids.length,
    votes: voteTxs.length,
    requests_per_page: REQUESTS,
    proposals_page_render_ms_median: render['/proposals'],
    proposal_page_render_ms_median: render['/proposals/[id]'],
    model_page_render_ms_median: render['/models/[slug]'],
    reference_db_read_all_proposals_ms_median: referenceMs,
    first_load_js_gzip_kb: jsKb,
    max_first_load_js_gzip_kb: maxJs,
    render_budget_ratio: Math.round((300 / maxRender) * 100) / 100,
    js_budget_ratio: Math.round((300 / maxJs) * 100) / 100,
    seed_s: Math.round(seedSeconds),
    index_s: Math.round(indexSeconds),
    build_s: Math.round(buildSeconds),
    goal: 'server render ≤ 300 ms (median) for /proposals, a proposal page and a model page with 1,000 proposals and 50,000 votes indexed; first-load JS ≤ 300 KB gzipped per page (counted in KiB, 1 KiB = 1024 bytes; noModule polyfills excluded)',
    goal_met: maxRender <= 300 && maxJs <= 300,
  };
  return result;
});
