// npm run bench:relay — 200 relayed votes from 200 accounts (holders with voting power and no ETH)
// through the real server (child process, PGlite) on anvil: accepted requests per second, p99 from
// request to mined (seen by a chain watcher), and gas per relayed vote (castVoteBySig) against the
// same 200 accounts voting directly with castVote on a twin proposal in the same run (the reference).
// Every run has its own 200 fresh accounts, so its relayed votes are each account's FIRST ballot (what
// a member voting gaslessly for the first time pays; the speed figures are measured on this pass).
// Then the same accounts vote again through the relay on a third proposal: their next ballot (steady).
// Gas is reported for both; the goal is judged on the worse of the two.
// BENCH_RUNS runs (default 3), each on fresh proposals and accounts; figures are medians of the runs.
// The last stdout line is one JSON object.
import { createWalletClient, http, parseEther, type Hex, type PublicClient } from 'viem';
import { modelGovernorAbi, modelTokenAbi } from '../lib/contracts/generated.ts';
import { chainFor } from '../lib/chain/client.ts';
import { call } from '../lib/devchain/governance.ts';
import { DEV_ACCOUNTS } from '../lib/devchain/anvil.ts';
import { median, percentile, runBench, type Bench } from './bench/harness.ts';
import { postRelay, setBalance, startRelayDao } from '../tests/helpers/relay.ts';
import { startServerProcess, tempDir } from '../tests/helpers/server-process.ts';
import type { RelayVoteBody } from '../lib/relay/typed-data.ts';

const VOTES = Number(process.env.BENCH_VOTES ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** requests in flight at once (members clicking at the same time) */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const GAS_GOAL = 1.25;

/** One pass of relayed votes, CONCURRENCY requests in flight: acceptance rate, request→mined latency, gas. */
async function relayPass(
  b: Bench,
  serverUrl: string,
  client: PublicClient,
  bodies: RelayVoteBody[],
): Promise<{ acceptedPerS: number; latencies: number[]; gas: number[]; failures: number }> {
  // chain watcher: when each transaction appears in a block
  const minedAt = new Map<string, number>();
  let watching = true;
  const watcher = (async () => {
    let next = (await client.getBlockNumber({ cacheTime: 0 })) + 1n;
    while (watching) {
      const head = await client.getBlockNumber({ cacheTime: 0 });
      for (; next <= head; next++) {
        const block = await client.getBlock({ blockNumber: next });
        const now = performance.now();
        for (const h of block.transactions) minedAt.set(h.toLowerCase(), now);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const sentAt = new Map<string, number>();
  let failures = 0;
  const t0 = performance.now();
  let lastAccepted = t0;
  let cursor = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (cursor < bodies.length) {
        const body = bodies[cursor++]!;
        const start = performance.now();
        const r = await postRelay(serverUrl, 'vote', body);
        if (r.status !== 202 || typeof r.json.txHash !== 'string') {
          failures++;
          b.log(`refused: ${r.status} ${JSON.stringify(r.json.error)}`);
          continue;
        }
        lastAccepted = performance.now();
        sentAt.set(r.json.txHash.toLowerCase(), start);
      }
    }),
  );
  const acceptedPerS = sentAt.size / ((lastAccepted - t0) / 1000);
  const deadline = Date.now() + 120_000;
  while ([...sentAt.keys()].some((h) => !minedAt.has(h)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  watching = false;
  await watcher;
  const latencies: number[] = [];
  const gas: number[] = [];
  for (const [hash, start] of sentAt) {
    const at = minedAt.get(hash);
    if (at === undefined) {
      failures++;
      continue;
    }
    latencies.push(at - start);
    const receipt = await client.getTransactionReceipt({ hash: hash as Hex });
    if (receipt.status !== 'success') failures++;
    gas.push(Number(receipt.gasUsed));
  }
  return { acceptedPerS, latencies, gas, failures };
}

await runBench('relay', async (b) => {
  b.log(`setting up anvil with ${VOTES * RUNS} voters (${VOTES} fresh ones per run; tokens, delegated by signature, no ETH)…`);
  const dao = await startRelayDao({ voters: VOTES * RUNS });
  b.defer(() => dao.chain.stop());
  const { chain, client, gov } = dao;
  const governor = chain.deployment.contracts.ModelGovernor;
  const dataDir = tempDir('modeldao-bench-relay-');
  const server = await startServerProcess({
    chain: { anvil: chain, deployment: chain.deployment, deploymentFile: chain.deploymentFile, auth: async () => '', stop: () => chain.stop() },
    dataDir,
    startTimeoutMs: 600_000, // a loaded machine (the bench itself makes thousands of transactions first)
    env: { RELAY_POLL_MS: '100', RELAY_ACCOUNT_DAILY_LIMIT: '2', RELAY_DAILY_BUDGET_WEI: parseEther('100').toString() },
  });
  b.defer(() => server.stop());
  b.log(`server ${server.url}`);

  const runs: {
    accepted_per_s: number;
    p99_request_to_mined_ms: number;
    p50_request_to_mined_ms: number;
    /** median gas of the run's relayed votes, each its account's first ballot */
    relayed_gas_first_use: number;
    /** median gas of the same accounts' next relayed ballot */
    relayed_gas_steady: number;
    direct_gas: number;
    failures: number;
  }[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (b.signal.aborted) break;
    const voters = dao.voters.slice(run * VOTES, (run + 1) * VOTES);
    // twin proposals (one voted through the relay, one directly, same voters and supports), and a third
    // for the same accounts' next relayed ballot
    const proposer = DEV_ACCOUNTS[0].privateKey;
    const action = [call(chain.deployment.contracts.ModelToken, modelTokenAbi, 'transfer', [DEV_ACCOUNTS[0].address, 1n])];
    const relayed = await gov.propose(proposer, action, `# bench relay ${run} relayed ${Date.now()}`);
    const direct = await gov.propose(proposer, action, `# bench relay ${run} direct ${Date.now()}`);
    const steady = await gov.propose(proposer, action, `# bench relay ${run} steady ${Date.now()}`);
    await gov.waitForVotingStart(steady.proposalId);
    const support = (i: number) => (i % 3) as 0 | 1 | 2;

    const first = await relayPass(
      b,
      server.url,
      client,
      await Promise.all(voters.map((v, i) => dao.ballot(v, { proposalId: relayed.proposalId, support: support(i) }))),
    );

    // the reference: the same voters call castVote themselves (given ETH for it, taken back after)
    const directGas: number[] = [];
    await Promise.all(voters.map((v) => setBalance(chain.rpcUrl, v.address, parseEther('1'))));
    // CONCURRENCY at a time and a long RPC timeout: 200 signing wallets at once overwhelm a loaded anvil
    // (only gas is measured here, not time)
    const hashes: Hex[] = [];
    for (let i = 0; i < voters.length; i += CONCURRENCY) {
      const batch = voters.slice(i, i + CONCURRENCY);
      hashes.push(
        ...(await Promise.all(
          batch.map((v, j) =>
            createWalletClient({
              account: v,
              chain: chainFor(chain.deployment.chainId, chain.rpcUrl),
              transport: http(chain.rpcUrl, { timeout: 120_000, retryCount: 0 }),
            }).writeContract({ address: governor, abi: modelGovernorAbi, functionName: 'castVote', args: [direct.proposalId, support(i + j)] }),
          ),
        )),
      );
    }
    for (const h of hashes) {
      const receipt = await client.waitForTransactionReceipt({ hash: h });
      if (receipt.status !== 'success') throw new Error(`direct castVote reverted (${h})`);
      directGas.push(Number(receipt.gasUsed));
    }
    await Promise.all(voters.map((v) => setBalance(chain.rpcUrl, v.address, 0n)));

    const next = await relayPass(
      b,
      server.url,
      client,
      await Promise.all(voters.map((v, i) => dao.ballot(v, { proposalId: steady.proposalId, support: support(i) }))),
    );

    const r = {
      accepted_per_s: +first.acceptedPerS.toFixed(1),
      p99_request_to_mined_ms: Math.round(percentile(first.latencies, 99)),
      p50_request_to_mined_ms: Math.round(percentile(first.latencies, 50)),
      relayed_gas_first_use: median(first.gas),
      relayed_gas_steady: median(next.gas),
      direct_gas: median(directGas),
      failures: first.failures + next.failures,
    };
    runs.push(r);
    b.log(`run ${run + 1}/${RUNS}: ${JSON.stringify(r)}`);
  }

  const firstUseGas = median(runs.map((r) => r.relayed_gas_first_use));
  const steadyGas = median(runs.map((r) => r.relayed_gas_steady));
  const directGas = median(runs.map((r) => r.direct_gas));
  const failures = runs.reduce((n, r) => n + r.failures, 0);
  const firstUseX = firstUseGas / directGas;
  const steadyX = steadyGas / directGas;
  const worseX = Math.max(firstUseX, steadyX);
  return {
    votes_per_run: VOTES,
    runs: runs.length,
    concurrency: CONCURRENCY,
    /** speed figures: the first-use pass (every account's first ballot) */
    accepted_per_s: median(runs.map((r) => r.accepted_per_s)),
    p50_request_to_mined_ms: median(runs.map((r) => r.p50_request_to_mined_ms)),
    p99_request_to_mined_ms: median(runs.map((r) => r.p99_request_to_mined_ms)),
    gas_per_relayed_vote_first_use: firstUseGas,
    gas_per_relayed_vote_steady: steadyGas,
    gas_per_direct_castVote: directGas,
    relayed_gas_multiple_of_direct_first_use_x: +firstUseX.toFixed(3),
    relayed_gas_multiple_of_direct_steady_x: +steadyX.toFixed(3),
    /** the goal's figure: the worse of first use and steady */
    relayed_gas_multiple_of_direct_x: +worseX.toFixed(3),
    failures,
    per_run: runs,
    goal: `relayed vote ≤ ${GAS_GOAL}× the gas of a direct castVote, for an account's first ballot and its next one alike (the worse, median over runs), and zero failures over ${VOTES} relayed votes from ${VOTES} fresh accounts per run (and their next ${VOTES})`,
    goal_met: runs.length === RUNS && worseX <= GAS_GOAL && failures === 0,
  };
});
