// proposal.state succeeded/defeated (#15): no log marks them, so the indexer places them at the first
// block past the deadline (lib/indexer/deadlines.ts). Against anvil and the governor itself: the
// state the event names is what `state()` answers at that block (and Active one block earlier),
// the events come in chain order before a queue, and a second server that indexes the same chain
// from scratch (another database, other batches) gives every event the same id, so a client resumes
// on it exactly.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData } from 'viem';
import { modelGovernorAbi, modelRegistryAbi } from '../../lib/contracts/generated.ts';
import { Governance, Support } from '../../lib/devchain/governance.ts';
import { DEADLINE_LOG_BASE } from '../../lib/indexer/deadlines.ts';
import type { RunningServer } from '../../lib/server/main.ts';
import { advanceTime, DEV_ACCOUNTS } from '../helpers/anvil.ts';
import { makeVersion, modelIdOf, publish, startTestChain, tmpDir, type TestChain } from '../consumer/fixtures.ts';
import { collect, serverOn, waitFor, type Collector } from './helpers.ts';

let chain: TestChain;
let server: RunningServer;
let work: string;
let gov: Governance;
const open: Collector[] = [];

beforeAll(async () => {
  work = tmpDir('modeldao-deadline-');
  chain = await startTestChain();
  gov = new Governance(chain.rpcUrl, chain.deployment);
  for (const v of DEV_ACCOUNTS.slice(0, 3)) await gov.delegate(v.privateKey);
  server = await serverOn(chain, `${work}/a`);
  await server.waitForIndex();
}, 180_000);

afterAll(async () => {
  for (const c of open) c.close();
  await server?.close();
  await chain?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function stateAt(proposalId: bigint, block: number): Promise<number> {
  return Number(
    await gov.client.readContract({
      address: chain.deployment.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'state',
      args: [proposalId],
      blockNumber: BigInt(block),
    }),
  );
}

describe('proposal.state succeeded and defeated', () => {
  it('are sent at the first block past the deadline, with the state the governor answers there, before a queue in a later block', async () => {
    const all = await collect(server.url);
    open.push(all);
    await publish(chain, 'deadline-lm', makeVersion('deadline-lm', { 'model.bin': 100 }));
    const modelId = await modelIdOf(chain, 'deadline-lm');
    const actions = [
      {
        target: chain.deployment.contracts.ModelRegistry,
        data: encodeFunctionData({
          abi: modelRegistryAbi,
          functionName: 'publishVersion',
          args: [modelId, makeVersion('deadline-lm', { 'model.bin': 200 }).digest, 1],
        }),
      },
    ];
    await advanceTime(chain.rpcUrl, 1); // the delegations count from the next second on
    const passing = await gov.propose(DEV_ACCOUNTS[0].privateKey, actions, 'Publish deadline-lm v2 (passes)');
    const failing = await gov.propose(DEV_ACCOUNTS[0].privateKey, actions, 'Publish deadline-lm v2 (voted down)');
    const silent = await gov.propose(DEV_ACCOUNTS[1].privateKey, actions, 'Publish deadline-lm v2 (nobody votes: no quorum)');
    await gov.waitForVotingStart(silent.proposalId);
    await gov.vote(DEV_ACCOUNTS[0].privateKey, passing.proposalId, Support.For);
    await gov.vote(DEV_ACCOUNTS[1].privateKey, passing.proposalId, Support.For);
    await gov.vote(DEV_ACCOUNTS[2].privateKey, failing.proposalId, Support.Against, 'no');
    await gov.vote(DEV_ACCOUNTS[0].privateKey, failing.proposalId, Support.Abstain);
    // one jump past all three deadlines: they end in the same block
    await gov.waitForVotingEnd(silent.proposalId);
    const ended = await waitForStates(all, 3);
    // proposals ending in the same block come in deadline order, then by id (anvil may give two of
    // them the same second, so which comes first is the id's business, not the order they were made)
    const deadlines = new Map(ended.map((e) => [e.proposalId as string, e.data.deadline as number]));
    const order = [...ended].sort(
      (x, y) => deadlines.get(x.proposalId)! - deadlines.get(y.proposalId)! || (BigInt(x.proposalId) < BigInt(y.proposalId) ? -1 : 1),
    );
    expect(ended.map((e) => e.proposalId)).toEqual(order.map((e) => e.proposalId));
    const byId = new Map(ended.map((e) => [e.proposalId as string, e]));
    expect([passing, failing, silent].map((p) => [String(p.proposalId), byId.get(String(p.proposalId))?.data.state])).toEqual([
      [String(passing.proposalId), 'succeeded'],
      [String(failing.proposalId), 'defeated'],
      [String(silent.proposalId), 'defeated'],
    ]);
    const block = ended[0].blockNumber as number;
    const header = await gov.client.getBlock({ blockNumber: BigInt(block) });
    const before = await gov.client.getBlock({ blockNumber: BigInt(block - 1) });
    for (const [k, e] of ended.entries()) {
      // the first block whose timestamp is past the deadline, before every log of that block
      expect(e.blockNumber).toBe(block);
      expect(e.blockHash).toBe(header.hash);
      expect(Number(header.timestamp)).toBeGreaterThan(e.data.deadline);
      expect(Number(before.timestamp)).toBeLessThanOrEqual(e.data.deadline);
      expect(e.logIndex).toBe(DEADLINE_LOG_BASE + k);
      expect(e.id).toBe(`${block}-${DEADLINE_LOG_BASE + k}-${header.hash.slice(2, 10)}`);
      expect(e.txHash).toBeNull();
      expect(e.models).toEqual(['deadline-lm']);
      // what the governor itself answers: Active one block earlier, the named state at this block
      expect(await stateAt(BigInt(e.proposalId), block - 1)).toBe(1);
      expect(await stateAt(BigInt(e.proposalId), block)).toBe(e.data.state === 'succeeded' ? 4 : 3);
    }
    expect(byId.get(String(passing.proposalId))!.data).toMatchObject({ quorumReached: true, tally: { against: '0', abstain: '0' } });
    expect(byId.get(String(failing.proposalId))!.data).toMatchObject({ tally: { for: '0' } });
    expect(byId.get(String(silent.proposalId))!.data).toMatchObject({ quorumReached: false, tally: { for: '0', against: '0', abstain: '0' } });

    await gov.queue(DEV_ACCOUNTS[0].privateKey, actions, passing.description);
    await waitFor(() => all.data().some((d) => d.type === 'proposal.state' && d.data.state === 'queued'), 'queued');
    const states = all.data().filter((d) => d.type === 'proposal.state');
    expect(states.map((d) => d.id)).toEqual([...ended.map((e) => e.id), states[3].id]);
    expect(states[3].data.state).toBe('queued');
    // an id parses back to the position it came from: a resume from the first one sends the other two next
    const resumed = await collect(server.url, { lastEventId: ended[0].id, query: 'kind=proposal.state' });
    open.push(resumed);
    await waitFor(() => resumed.events.length >= 3, 'the resumed stream');
    expect(resumed.data().map((d) => d.id)).toEqual([ended[1].id, ended[2].id, states[3].id]);
  }, 180_000);

  it('a server that indexes the chain from scratch (another database, other batches) gives them the same ids; Last-Event-ID from server A resumes on it exactly', async () => {
    const a = await collect(server.url, { lastEventId: '0-0-00000000', query: 'kind=proposal' });
    open.push(a);
    const b = await serverOn(chain, `${work}/b`, { INDEXER_INITIAL_RANGE: '7' });
    try {
      await b.waitForIndex();
      const fromB = await collect(b.url, { lastEventId: '0-0-00000000', query: 'kind=proposal' });
      open.push(fromB);
      await waitFor(() => a.data().filter((d) => d.data?.state === 'queued').length === 1, 'server A replay');
      await waitFor(() => fromB.data().filter((d) => d.data?.state === 'queued').length === 1, 'server B replay');
      const ids = (c: Collector) =>
        c
          .data()
          .filter((d) => d.type !== 'reorg')
          .map((d) => `${d.type}:${d.id}`);
      expect(ids(fromB)).toEqual(ids(a));
      const statesOnA = a.data().filter((d) => d.type === 'proposal.state');
      const onB = await collect(b.url, { lastEventId: statesOnA[0].id, query: 'kind=proposal.state' });
      open.push(onB);
      await waitFor(() => onB.events.length >= 3, 'the resume on server B');
      expect(onB.data().map((d) => d.id)).toEqual(statesOnA.slice(1).map((d) => d.id));
    } finally {
      await b.close();
    }
  }, 180_000);
});

/** The first `n` succeeded/defeated events the collector got. */
async function waitForStates(c: Collector, n: number): Promise<any[]> {
  const ended = () => c.data().filter((d) => d.type === 'proposal.state' && (d.data.state === 'succeeded' || d.data.state === 'defeated'));
  await waitFor(() => ended().length >= n, `${n} ended proposals`);
  return ended().slice(0, n);
}
