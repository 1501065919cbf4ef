// npm run bench:indexer — generates governance history on a fresh anvil (≥1,000 proposals, 100,000
// votes, 10,000 delegation changes, through contracts/bench/BenchSwarm.sol), then times in the same
// run: (a) raw eth_getLogs + viem decode of the range, (b) a full backfill into PGlite, (c) into
// PostgreSQL. Last line: one JSON object. Nothing is cached; everything started is cleaned up.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPublicClient, createWalletClient, http, parseEventLogs, type Abi, type Address, type Hex, type PublicClient } from 'viem';
import { openDatabase } from '../db/client.ts';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi, timelockControllerAbi } from '../lib/contracts/generated.ts';
import { DEV_ACCOUNTS, deployContracts, foundryBinary, freePort, repoRoot, rpc } from '../lib/devchain/anvil.ts';
import { dumpIndex, indexOnce } from '../lib/indexer/index.ts';
import { startPostgres } from '../tests/helpers/postgres.ts';
import { median, runBench } from './bench/harness.ts';

const PROPOSALS = Number(process.env.BENCH_PROPOSALS ?? 1000);
const VOTERS = Number(process.env.BENCH_VOTERS ?? 100); // votes = PROPOSALS * VOTERS
const DELEGATIONS = Number(process.env.BENCH_DELEGATIONS ?? 10_000);
const REFERENCE_RUNS = 3;
const BACKFILL_RUNS = Number(process.env.BENCH_BACKFILL_RUNS ?? 3);
await runBench('indexer', async ({ defer: cleanup, log }) => {
  // ---- chain ----
  log('building contracts/bench');
  execFileSync(path.join(repoRoot, 'scripts/foundry'), ['forge', 'build', 'contracts/bench'], {
    cwd: repoRoot,
    stdio: 'ignore',
    env: { ...process.env, FOUNDRY_DISABLE_NIGHTLY_WARNING: '1' },
  });
  const artifact = JSON.parse(fs.readFileSync(path.join(repoRoot, 'contracts/out/BenchSwarm.sol/BenchSwarm.json'), 'utf8'));
  const port = await freePort();
  // prague: no per-transaction gas cap, so one transaction can cast thousands of votes
  const anvil = spawn(
    foundryBinary('anvil'),
    ['--port', String(port), '--silent', '--gas-limit', '3000000000', '--hardfork', 'prague', '--chain-id', '31337'],
    { stdio: 'ignore' },
  );
  cleanup(() => void anvil.kill('SIGKILL'));
  const rpcUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await rpc(rpcUrl, 'eth_chainId');
      break;
    } catch {
      if (i > 200) throw new Error('anvil did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const { deployment, deploymentFile } = await deployContracts(rpcUrl, { env: { VOTING_PERIOD: String(30 * 24 * 3600), VOTING_DELAY: '1' } });
  cleanup(() => fs.rmSync(path.dirname(deploymentFile), { recursive: true, force: true }));
  // viem refuses responses over 10 MB by default. A 2,500-vote block is ~4 MB of logs and the
  // indexer's growing ranges may ask for much more once: a refused body still costs anvil the whole
  // serialisation, so both sides get a client that accepts large responses (the indexer then
  // narrows its ranges from the density it saw).
  const pub = createPublicClient({ transport: http(rpcUrl, { timeout: 120_000, maxResponseBodySize: 512 * 1024 * 1024 }) }) as PublicClient;
  const wallet = createWalletClient({ transport: http(rpcUrl, { timeout: 600_000 }) });
  const from = DEV_ACCOUNTS[0].address as Address;
  const c = deployment.contracts;

  const send = async (to: Address, abi: Abi, functionName: string, args: unknown[], gas = 2_500_000_000n) => {
    const hash = await wallet.writeContract({ account: from, chain: null, address: to, abi, functionName, args, gas } as any);
    const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 600_000 });
    if (r.status !== 'success') throw new Error(`${functionName} reverted`);
    return r;
  };
  const genStart = Date.now();
  log(`generating ${PROPOSALS} proposals, ${PROPOSALS * VOTERS} votes, ${DELEGATIONS} delegation changes`);
  const deployHash = await wallet.deployContract({
    account: from,
    chain: null,
    abi: artifact.abi,
    bytecode: artifact.bytecode.object as Hex,
    args: [c.ModelGovernor, c.ModelToken],
  });
  const swarm = (await pub.waitForTransactionReceipt({ hash: deployHash })).contractAddress as Address;
  const swarmAbi = artifact.abi as Abi;
  await send(c.ModelToken, modelTokenAbi as Abi, 'transfer', [swarm, 60_000n * 10n ** 18n], 1_000_000n);
  await send(swarm, swarmAbi, 'selfDelegate', [], 1_000_000n);
  for (let i = 0; i < VOTERS; i += 50) await send(swarm, swarmAbi, 'addVoters', [BigInt(Math.min(50, VOTERS - i)), 400n * 10n ** 18n]);
  await rpc(rpcUrl, 'evm_increaseTime', [2]);
  await rpc(rpcUrl, 'evm_mine');
  for (let i = 0; i < PROPOSALS; i += 200) await send(swarm, swarmAbi, 'propose', [BigInt(Math.min(200, PROPOSALS - i)), c.ModelRegistry]);
  await rpc(rpcUrl, 'evm_increaseTime', [2]);
  await rpc(rpcUrl, 'evm_mine');
  const totalVotes = PROPOSALS * VOTERS;
  for (let k = 0; k < totalVotes; k += 2500) {
    await send(swarm, swarmAbi, 'vote', [BigInt(k), BigInt(Math.min(totalVotes, k + 2500))]);
    if (k % 20_000 === 0) log(`votes ${k}/${totalVotes}`);
  }
  for (let k = 0; k < DELEGATIONS; k += 2000) await send(swarm, swarmAbi, 'redelegate', [BigInt(k), BigInt(Math.min(DELEGATIONS, k + 2000))]);
  const head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
  const generationSeconds = (Date.now() - genStart) / 1000;
  log(`generated blocks ${deployment.deployBlock}..${head} in ${generationSeconds.toFixed(1)} s`);

  // ---- (a) raw getLogs + viem decode, same range, same block chunks the indexer settles on ----
  const abi = [...modelGovernorAbi, ...modelTokenAbi, ...timelockControllerAbi, ...modelRegistryAbi] as Abi;
  const addresses = [c.ModelGovernor, c.ModelToken, c.TimelockController, c.ModelRegistry];
  const CHUNK = 2; // blocks per request: ~5k logs with 2,500 votes per block (the indexer's target)
  const reference = async () => {
    const t0 = performance.now();
    let n = 0;
    for (let b = deployment.deployBlock; b <= head; b += CHUNK) {
      const logs = await pub.getLogs({ address: addresses, fromBlock: BigInt(b), toBlock: BigInt(Math.min(head, b + CHUNK - 1)) });
      n += parseEventLogs({ abi, logs }).length;
    }
    return { seconds: (performance.now() - t0) / 1000, events: n };
  };
  const refRuns = [];
  for (let i = 0; i < REFERENCE_RUNS; i++) refRuns.push(await reference());
  const refSeconds = median(refRuns.map((r) => r.seconds));
  const events = refRuns[0]!.events;
  log(`(a) raw getLogs + decode: ${events} events, median ${refSeconds.toFixed(2)} s over ${REFERENCE_RUNS} runs`);

  // ---- (b) PGlite, (c) PostgreSQL ----
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-idx-'));
  cleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let run = 0;
  const backfill = async (kind: 'pglite' | 'postgres') => {
    run++;
    let url: string | undefined;
    if (kind === 'postgres') {
      const pg = await startPostgres({ durable: true });
      cleanup(() => pg.stop());
      url = pg.url;
    }
    const database = await openDatabase({ pgliteDir: path.join(tmp, `pglite-${run}`), DATABASE_URL: url });
    try {
      const t0 = performance.now();
      const status = await indexOnce({ db: database, publicClient: pub, deployment, confirmations: 0 });
      const seconds = (performance.now() - t0) / 1000;
      if (status.indexedBlock !== head) throw new Error(`${kind}: indexed to ${status.indexedBlock}, head ${head}`);
      const dump = await dumpIndex(database.db, deployment.chainId);
      const stored = dump.governor_event.length + dump.token_event.length + dump.timelock_event.length + dump.registry_event.length;
      if (dump.vote.length !== totalVotes || dump.proposal.length !== PROPOSALS)
        throw new Error(`${kind}: ${dump.vote.length} votes, ${dump.proposal.length} proposals indexed`);
      log(`(${kind === 'pglite' ? 'b' : 'c'}) backfill into ${kind}: ${stored} events in ${seconds.toFixed(2)} s`);
      return { seconds, stored };
    } finally {
      await database.close();
    }
  };
  // Each run into an empty database; backends alternate so machine noise hits both alike; medians.
  const pgliteRuns: { seconds: number; stored: number }[] = [];
  const postgresRuns: { seconds: number; stored: number }[] = [];
  for (let i = 0; i < BACKFILL_RUNS; i++) {
    pgliteRuns.push(await backfill('pglite'));
    postgresRuns.push(await backfill('postgres'));
  }
  const medianRun = (runs: { seconds: number; stored: number }[]) => ({ seconds: median(runs.map((r) => r.seconds)), stored: runs[0]!.stored });
  const pglite = medianRun(pgliteRuns);
  const postgres = medianRun(postgresRuns);

  const eps = (n: number, s: number) => Math.round(n / s);
  const refEps = eps(events, refSeconds);
  const pgliteEps = eps(pglite.stored, pglite.seconds);
  const postgresEps = eps(postgres.stored, postgres.seconds);
  const per100k = (e: number) => Number((100_000 / e).toFixed(2));
  const result = {
    proposals: PROPOSALS,
    votes: totalVotes,
    delegation_changes: DELEGATIONS,
    blocks: head - deployment.deployBlock + 1,
    events,
    generation_s: Number(generationSeconds.toFixed(1)),
    raw_getlogs_decode_s_median: Number(refSeconds.toFixed(2)),
    raw_getlogs_decode_events_per_s: refEps,
    pglite_backfill_s: Number(pglite.seconds.toFixed(2)),
    pglite_backfill_events_per_s: pgliteEps,
    postgres_backfill_s: Number(postgres.seconds.toFixed(2)),
    postgres_backfill_events_per_s: postgresEps,
    pglite_vs_raw_ratio: Number((pgliteEps / refEps).toFixed(3)),
    postgres_vs_raw_ratio: Number((postgresEps / refEps).toFixed(3)),
    pglite_s_per_100k_events: per100k(pgliteEps),
    postgres_s_per_100k_events: per100k(postgresEps),
    runs: { reference: REFERENCE_RUNS, backfill_per_backend: BACKFILL_RUNS },
    pglite_backfill_s_all: pgliteRuns.map((r) => Number(r.seconds.toFixed(2))),
    postgres_backfill_s_all: postgresRuns.map((r) => Number(r.seconds.toFixed(2))),
    goal: 'backfill into PGlite and PostgreSQL each at >= 0.5x the events/s of raw getLogs + viem decode of the same range, and 100k events in < 30 s',
    goal_met: pgliteEps / refEps >= 0.5 && postgresEps / refEps >= 0.5 && per100k(pgliteEps) < 30 && per100k(postgresEps) < 30,
  };
  return result;
});
