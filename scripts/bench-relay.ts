// npm run bench:relay — 200 relayed votes from 200 accounts (holders with voting power and no ETH)
// through the real server (child process, PGlite) on anvil: accepted requests per second, p99 from
// request to mined (seen by a chain watcher), and gas per relayed vote (castVoteBySig) against the
// same 200 accounts voting directly with castVote on a twin proposal in the same run (the reference).
// BENCH_RUNS runs (default 3), each on a fresh pair of proposals; figures are medians of the runs.
// The last stdout line is one JSON object.
import { createWalletClient, http, parseEther, type Hex } from 'viem';
import { modelGovernorAbi, modelTokenAbi } from '../lib/contracts/generated.ts';
import { chainFor } from '../lib/chain/client.ts';
import { call } from '../lib/devchain/governance.ts';
import { DEV_ACCOUNTS } from '../lib/devchain/anvil.ts';
import { median, percentile, runBench } from './bench/harness.ts';
import { postRelay, setBalance, startRelayDao } from '../tests/helpers/relay.ts';
import { startServerProcess, tempDir } from '../tests/helpers/server-process.ts';
import type { RelayVoteBody } from '../lib/relay/typed-data.ts';

const VOTES = Number(process.env.BENCH_VOTES ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** requests in flight at once (members clicking at the same time) */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const GAS_GOAL = 1.25;

await runBench('relay', async (b) => {
  b.log(`setting up anvil with ${VOTES} voters (tokens, delegated by signature, no ETH)…`);
  const dao = await startRelayDao({ voters: VOTES });
  b.defer(() => dao.chain.stop());
  const { chain, client, gov } = dao;
  const governor = chain.deployment.contracts.ModelGovernor;
  const dataDir = tempDir('modeldao-bench-relay-');
  const server = await startServerProcess({
    chain: { anvil: chain, deployment: chain.deployment, deploymentFile: chain.deploymentFile, auth: async () => '', stop: () => chain.stop() },
    dataDir,
    startTimeoutMs: 600_000, // a loaded machine (the bench itself makes 400 transactions first)
    env: { RELAY_POLL_MS: '100', RELAY_ACCOUNT_DAILY_LIMIT: String(RUNS + 1), RELAY_DAILY_BUDGET_WEI: parseEther('100').toString() },
  });
  b.defer(() => server.stop());
  b.log(`server ${server.url}`);

  const runs: {
    accepted_per_s: number;
    p99_request_to_mined_ms: number;
    p50_request_to_mined_ms: number;
    relayed_gas: number;
    direct_gas: number;
    failures: number;
  }[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (b.signal.aborted) break;
    // twin proposals: one voted through the relay, one directly, same voters and supports
    const proposer = DEV_ACCOUNTS[0].privateKey;
    const action = [call(chain.deployment.contracts.ModelToken, modelTokenAbi, 'transfer', [DEV_ACCOUNTS[0].address, 1n])];
    const relayed = await gov.propose(proposer, action, `# bench relay ${run} relayed ${Date.now()}`);
    const direct = await gov.propose(proposer, action, `# bench relay ${run} direct ${Date.now()}`);
    await gov.waitForVotingStart(direct.proposalId);
    const bodies: RelayVoteBody[] = await Promise.all(
      dao.voters.map((v, i) => dao.ballot(v, { proposalId: relayed.proposalId, support: (i % 3) as 0 | 1 | 2 })),
    );

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
          const r = await postRelay(server.url, 'vote', body);
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
    const relayedGas: number[] = [];
    for (const [hash, start] of sentAt) {
      const at = minedAt.get(hash);
      if (at === undefined) {
        failures++;
        continue;
      }
      latencies.push(at - start);
      const receipt = await client.getTransactionReceipt({ hash: hash as Hex });
      if (receipt.status !== 'success') failures++;
      relayedGas.push(Number(receipt.gasUsed));
    }

    // the reference: the same voters call castVote themselves (given ETH for it, taken back after)
    const directGas: number[] = [];
    await Promise.all(dao.voters.map((v) => setBalance(chain.rpcUrl, v.address, parseEther('1'))));
    const hashes = await Promise.all(
      dao.voters.map((v, i) =>
        createWalletClient({ account: v, chain: chainFor(chain.deployment.chainId, chain.rpcUrl), transport: http(chain.rpcUrl) }).writeContract({
          address: governor,
          abi: modelGovernorAbi,
          functionName: 'castVote',
          args: [direct.proposalId, (i % 3) as 0 | 1 | 2],
        }),
      ),
    );
    for (const h of hashes) {
      const receipt = await client.waitForTransactionReceipt({ hash: h });
      if (receipt.status !== 'success') throw new Error(`direct castVote reverted (${h})`);
      directGas.push(Number(receipt.gasUsed));
    }
    await Promise.all(dao.voters.map((v) => setBalance(chain.rpcUrl, v.address, 0n)));

    const r = {
      accepted_per_s: +acceptedPerS.toFixed(1),
      p99_request_to_mined_ms: Math.round(percentile(latencies, 99)),
      p50_request_to_mined_ms: Math.round(percentile(latencies, 50)),
      relayed_gas: median(relayedGas),
      direct_gas: median(directGas),
      failures,
    };
    runs.push(r);
    b.log(`run ${run + 1}/${RUNS}: ${JSON.stringify(r)}`);
  }

  const relayedGas = median(runs.map((r) => r.relayed_gas));
  const directGas = median(runs.map((r) => r.direct_gas));
  const failures = runs.reduce((n, r) => n + r.failures, 0);
  const multiple = relayedGas / directGas;
  return {
    votes_per_run: VOTES,
    runs: runs.length,
    concurrency: CONCURRENCY,
    accepted_per_s: median(runs.map((r) => r.accepted_per_s)),
    p50_request_to_mined_ms: median(runs.map((r) => r.p50_request_to_mined_ms)),
    p99_request_to_mined_ms: median(runs.map((r) => r.p99_request_to_mined_ms)),
    gas_per_relayed_vote: relayedGas,
    /** run 1: each voter's first governor signature turns its nonce slot from 0 to 1 (a fresh SSTORE) */
    gas_per_relayed_vote_first_use: runs[0]?.relayed_gas ?? null,
    relayed_gas_multiple_of_direct_first_use_x: runs[0] ? +(runs[0].relayed_gas / runs[0].direct_gas).toFixed(3) : null,
    gas_per_direct_castVote: directGas,
    /** >1 would mean a relayed vote costs less gas than a direct castVote */
    direct_over_relayed_gas_ratio: +(directGas / relayedGas).toFixed(3),
    relayed_gas_multiple_of_direct_x: +multiple.toFixed(3),
    failures,
    per_run: runs,
    goal: `relayed vote ≤ ${GAS_GOAL}× the gas of a direct castVote (median over runs), and zero failures over ${VOTES} relayed votes from ${VOTES} accounts per run`,
    goal_met: runs.length === RUNS && multiple <= GAS_GOAL && failures === 0,
  };
});
