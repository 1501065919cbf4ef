import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, http, keccak256, toBytes, toHex, type PublicClient } from 'viem';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../db/client.ts';
import { dumpIndex, indexOnce, startIndexer } from '../../lib/indexer/index.ts';
import { startTestChain, type TestChain } from '../helpers/anvil.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { compareWithChain } from './chain-state.ts';
import { acct, delegations, gov, governance } from './scenario.ts';
import { advanceTime } from '../helpers/anvil.ts';
import { modelGovernorAbi, timelockControllerAbi } from '../../lib/contracts/generated.ts';
import { ProposalState } from '../../lib/chain/proposal-state.ts';

let chain: TestChain;
let pub: PublicClient;
let pgServer: TestPostgres;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-idx-'));

beforeAll(async () => {
  [chain, pgServer] = await Promise.all([startTestChain(), startPostgres()]);
  pub = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  const g = gov(chain.rpcUrl, chain.deployment);
  await delegations(g);
  await governance(g, 'a');
});

afterAll(async () => {
  await chain?.stop();
  await pgServer?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const backends: [string, () => Promise<Database>][] = [
  ['PGlite', () => openDatabase({ pgliteDir: path.join(tmp, 'pglite') })],
  ['PostgreSQL', () => openDatabase({ pgliteDir: '', DATABASE_URL: pgServer.url })],
];

describe.each(backends)('indexer on %s', (name, open) => {
  it('backfills governance, token and registry history into tables that agree with the contracts', async () => {
    const database = await open();
    try {
      const status = await indexOnce({ db: database, publicClient: pub, deployment: chain.deployment, confirmations: 0, initialRange: 7 });
      const head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
      expect(status.indexedBlock).toBe(head);
      expect(await compareWithChain(database.db, pub, chain.deployment)).toEqual([]);
      const dump = await dumpIndex(database.db, chain.deployment.chainId);
      expect(dump.proposal.length).toBeGreaterThanOrEqual(4); // other backends' tests add rounds on the same chain
      expect(dump.vote.length).toBeGreaterThanOrEqual(6);
      expect(dump.model.length).toBe(dump.proposal.length / 2);
      expect(dump.model_version.length).toBe((dump.proposal.length / 4) * 3);
      expect(dump.proposal.some((p) => p.extended_deadline !== null)).toBe(true);
      expect(dump.vote.some((v) => v.params === '0x1234')).toBe(true);
      const revoked = dump.model_version.find((v) => v.status === 'Revoked')!;
      expect(revoked.status_changed_by).toBe(chain.deployment.guardian.toLowerCase());
      expect(dump.timelock_event.some((e) => e.event_name === 'CallExecuted')).toBe(true);
    } finally {
      await database.close();
    }
  });

  it('follows new blocks after the backfill and tells listeners, without re-indexing anything', async () => {
    const database = await open();
    const indexer = startIndexer({
      db: database,
      publicClient: pub,
      deployment: chain.deployment,
      confirmations: 0,
      pollMs: 100,
      log: process.env.DEBUG_INDEXER ? console.log : undefined,
    });
    try {
      const before = await dumpIndex(database.db, chain.deployment.chainId);
      const checkpointMovedAt = async () =>
        (
          (
            await database.db.execute(
              sql`select extract(epoch from updated_at)::float8 as t from indexer_checkpoint where chain_id = ${chain.deployment.chainId}`,
            )
          ).rows[0] as { t: number }
        ).t;
      const movedBefore = await checkpointMovedAt();
      const advanced: number[] = [];
      let versionsChanged = false;
      indexer.onAdvance((e) => {
        advanced.push(e.toBlock);
        versionsChanged ||= e.summary.versionsChanged;
      });
      await governance(gov(chain.rpcUrl, chain.deployment), `b-${name.toLowerCase()}`);
      const head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
      await waitFor(() => indexer.status().indexedBlock === head).catch((err) => {
        throw new Error(`${err.message}: ${JSON.stringify(indexer.status())} head ${head}`);
      });
      expect(indexer.status()).toMatchObject({ role: 'writer', headBlock: head, lag: 0 });
      expect(advanced.at(-1)).toBe(head);
      expect(versionsChanged).toBe(true);
      expect(await compareWithChain(database.db, pub, chain.deployment)).toEqual([]);
      const after = await dumpIndex(database.db, chain.deployment.chainId);
      expect(after.proposal.length).toBe(before.proposal.length + 4);
      // the checkpoint says when it last moved (readers judge staleness by it), not when it was first written
      expect(await checkpointMovedAt()).toBeGreaterThan(movedBefore);
      // append-only: every earlier event is still there unchanged
      expect(after.governor_event.slice(0, before.governor_event.length)).toEqual(before.governor_event);
    } finally {
      await indexer.stop();
      await database.close();
    }
  });
});

describe('two indexers on one PostgreSQL database', () => {
  it("one writes, the other stands by reporting the writer's progress and takes over when the writer goes away", async () => {
    const [dbA, dbB] = await Promise.all([
      openDatabase({ pgliteDir: '', DATABASE_URL: pgServer.url }),
      openDatabase({ pgliteDir: '', DATABASE_URL: pgServer.url }),
    ]);
    const a = startIndexer({ db: dbA, publicClient: pub, deployment: chain.deployment, confirmations: 0, pollMs: 100 });
    let b: ReturnType<typeof startIndexer> | null = null;
    try {
      await waitFor(() => a.status().role === 'writer');
      b = startIndexer({ db: dbB, publicClient: pub, deployment: chain.deployment, confirmations: 0, pollMs: 100 });
      const seenByStandby: number[] = [];
      b.onAdvance((e) => void seenByStandby.push(e.toBlock));
      await governance(gov(chain.rpcUrl, chain.deployment), 'standby');
      const head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
      await waitFor(() => b!.status().indexedBlock === head);
      // the standby knows where the index stands (health, lag) and told its listeners (cache invalidation)
      expect(b.status()).toMatchObject({ role: 'standby', indexedBlock: head, headBlock: head, lag: 0 });
      expect(a.status()).toMatchObject({ role: 'writer', indexedBlock: head });
      expect(seenByStandby.at(-1)).toBe(head);
      await a.stop();
      await governance(gov(chain.rpcUrl, chain.deployment), 'takeover');
      const head2 = Number(await pub.getBlockNumber({ cacheTime: 0 }));
      await waitFor(() => b!.status().role === 'writer' && b!.status().indexedBlock === head2);
      expect(await compareWithChain(dbB.db, pub, chain.deployment)).toEqual([]);
    } finally {
      await a.stop();
      await b?.stop();
      await Promise.all([dbA.close(), dbB.close()]);
    }
  });
});

describe('a proposal executed on the timelock directly', () => {
  it('is Executed in the index, like governor.state() says, with the transaction that did it', async () => {
    const g = gov(chain.rpcUrl, chain.deployment);
    const { ModelGovernor, TimelockController } = chain.deployment.contracts;
    const p = await g.propose(
      acct[0],
      [g.registryCall('registerModel', ['direct-exec', { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }])],
      'Register direct-exec',
    );
    await advanceTime(chain.rpcUrl, 2);
    await g.send(acct[0], ModelGovernor, modelGovernorAbi, 'castVote', [p.id, 1]);
    await advanceTime(chain.rpcUrl, 301);
    await g.queue(p);
    await advanceTime(chain.rpcUrl, 61);
    // GovernorTimelockControl's salt: bytes20(governor) ^ descriptionHash
    const salt = toHex((BigInt(ModelGovernor) << 96n) ^ BigInt(keccak256(toBytes(p.description))), { size: 32 });
    const tx = await g.send(acct[9], TimelockController, timelockControllerAbi, 'executeBatch', [
      p.calls.map((c) => c.target),
      [0n],
      p.calls.map((c) => c.data),
      toHex(0, { size: 32 }),
      salt,
    ]);
    expect(await pub.readContract({ address: ModelGovernor, abi: modelGovernorAbi, functionName: 'state', args: [p.id] })).toBe(ProposalState.Executed);

    const database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
    try {
      await indexOnce({ db: database, publicClient: pub, deployment: chain.deployment, confirmations: 0 });
      expect(await compareWithChain(database.db, pub, chain.deployment)).toEqual([]);
      const row = (await dumpIndex(database.db, chain.deployment.chainId)).proposal.find((r) => r.proposal_id === p.id.toString());
      expect(row).toMatchObject({ executed_tx: tx });
    } finally {
      await database.close();
    }
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
