import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, http, type PublicClient } from 'viem';
import { openDatabase, type Database } from '../../db/client.ts';
import { dumpIndex, indexOnce, startIndexer, type Indexer } from '../../lib/indexer/index.ts';
import { modelGovernorAbi, modelTokenAbi } from '../../lib/contracts/generated.ts';
import { rpc, startTestChain, type TestChain } from '../helpers/anvil.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { acct, delegations, gov, governance, type Gov } from './scenario.ts';

// Reorgs injected with anvil's evm_snapshot/evm_revert: the indexer follows a branch block by block,
// the branch is thrown away and a different one (other transactions, one block longer) is mined.
// The index must then equal a fresh index of the new chain.

const WINDOW = 8;
let chain: TestChain;
let pub: PublicClient;
let g: Gov;

beforeAll(async () => {
  chain = await startTestChain();
  pub = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  g = gov(chain.rpcUrl, chain.deployment);
  await delegations(g);
  await governance(g, 'r');
});
afterAll(async () => {
  await chain?.stop();
});

const head = async () => Number(await pub.getBlockNumber({ cacheTime: 0 }));
const token = () => chain.deployment.contracts.ModelToken;

/** One block per call: a branch's own activity (a proposal, transfers, a delegation). */
async function mineBranch(blocks: number, branch: 'old' | 'new', salt: string) {
  for (let i = 0; i < blocks; i++) {
    if (branch === 'old') {
      if (i === 0) {
        const target = chain.deployment.contracts.ModelRegistry;
        await g.send(acct[0], chain.deployment.contracts.ModelGovernor, modelGovernorAbi, 'propose', [[target], [0n], ['0x'], `doomed ${salt}`]);
      } else {
        await g.send(acct[0], token(), modelTokenAbi, 'transfer', [acct[6], BigInt(i) * 10n ** 18n]);
      }
    } else {
      if (i % 2 === 0) await g.send(acct[1], token(), modelTokenAbi, 'transfer', [acct[7], BigInt(i + 1) * 3n * 10n ** 18n]);
      else await g.send(acct[(i % 3) + 2]!, token(), modelTokenAbi, 'delegate', [acct[i % 5]!]);
    }
  }
}

async function freshDump(): Promise<Record<string, unknown[]>> {
  const fresh = await openDatabase({ pgliteDir: '' }, { inMemory: true });
  try {
    await indexOnce({ db: fresh, publicClient: pub, deployment: chain.deployment, confirmations: 0 });
    return await dumpIndex(fresh.db, chain.deployment.chainId);
  } finally {
    await fresh.close();
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(['PGlite', 'PostgreSQL'])('indexer on %s under chain reorganisations', (backend) => {
  let database: Database;
  let indexer: Indexer;
  let pgServer: TestPostgres | undefined;
  beforeAll(async () => {
    if (backend === 'PostgreSQL') pgServer = await startPostgres();
    database = pgServer ? await openDatabase({ pgliteDir: '', DATABASE_URL: pgServer.url }) : await openDatabase({ pgliteDir: '' }, { inMemory: true });
    indexer = startIndexer({ db: database, publicClient: pub, deployment: chain.deployment, confirmations: 0, reorgWindow: WINDOW, pollMs: 20 });
    const h = await head();
    await waitFor(() => indexer.status().indexedBlock === h, 'initial backfill');
  });
  afterAll(async () => {
    await indexer?.stop();
    await database?.close();
    await pgServer?.stop();
  });

  it.each([1, 5, WINDOW])('after a %i-block reorg with different transactions the index equals a fresh index of the new chain', async (depth) => {
    const snapshot = await rpc<string>(chain.rpcUrl, 'evm_snapshot');
    const base = await head();
    await mineBranch(depth, 'old', `${backend}-d${depth}`);
    await waitFor(() => indexer.status().indexedBlock === base + depth, 'old branch indexed');
    const doomed = await dumpIndex(database.db, chain.deployment.chainId);
    expect(doomed.proposal.some((p: any) => p.description === `doomed ${backend}-d${depth}`)).toBe(true);

    await rpc(chain.rpcUrl, 'evm_revert', [snapshot]);
    await mineBranch(depth + 1, 'new', `${backend}-d${depth}`);
    const newHead = await pub.getBlock({ blockTag: 'latest' });
    await waitFor(() => indexer.status().indexedBlock === Number(newHead.number), 'new branch indexed');

    const dump = await dumpIndex(database.db, chain.deployment.chainId);
    expect(dump.indexer_checkpoint[0]).toMatchObject({ block_number: Number(newHead.number), block_hash: newHead.hash });
    expect(dump.proposal.some((p: any) => p.description === `doomed ${backend}-d${depth}`)).toBe(false);
    expect(dump).toEqual(await freshDump());
    expect(indexer.status().fatalError).toBeNull();
  });

  it('with confirmations, a reorg shallower than the confirmation depth is never indexed at all', async () => {
    const confirmed = await openDatabase({ pgliteDir: '' }, { inMemory: true });
    const lagging = startIndexer({ db: confirmed, publicClient: pub, deployment: chain.deployment, confirmations: 3, reorgWindow: WINDOW, pollMs: 20 });
    try {
      const base = await head();
      await waitFor(() => lagging.status().indexedBlock === base - 3, 'confirmed backfill');
      const snapshot = await rpc<string>(chain.rpcUrl, 'evm_snapshot');
      await mineBranch(3, 'old', `${backend}-confirmations`);
      // it has seen the branch's head and indexed up to 3 blocks below it: the branch's blocks stay unindexed
      await waitFor(() => lagging.status().headBlock === base + 3 && lagging.status().indexedBlock === base, 'confirmed up to the old branch');
      expect(lagging.status().indexedBlock).toBe(base);
      const seen: boolean[] = [];
      lagging.onAdvance((e) => void seen.push(e.reorg));
      await rpc(chain.rpcUrl, 'evm_revert', [snapshot]);
      await mineBranch(4, 'new', `${backend}-confirmations`);
      await waitFor(() => lagging.status().indexedBlock === base + 1, 'confirmed new branch');
      expect(seen.every((r) => r === false)).toBe(true); // nothing had to be rolled back
      const dump = await dumpIndex(confirmed.db, chain.deployment.chainId);
      expect(dump.proposal.some((p: any) => p.description === `doomed ${backend}-confirmations`)).toBe(false);
    } finally {
      await lagging.stop();
      await confirmed.close();
    }
    // the window-8 indexer above followed all of it too
    await waitFor(async () => indexer.status().indexedBlock === (await head()), 'main indexer');
  });

  it('a reorg deeper than the window stops the indexer with a loud error instead of guessing', async () => {
    const snapshot = await rpc<string>(chain.rpcUrl, 'evm_snapshot');
    const base = await head();
    await mineBranch(WINDOW + 2, 'old', `${backend}-deep`);
    await waitFor(() => indexer.status().indexedBlock === base + WINDOW + 2, 'old branch indexed');
    const before = await dumpIndex(database.db, chain.deployment.chainId);
    await rpc(chain.rpcUrl, 'evm_revert', [snapshot]);
    await mineBranch(WINDOW + 3, 'new', `${backend}-deep`);
    await waitFor(() => indexer.status().role === 'failed', 'indexer to stop');
    expect(indexer.status().fatalError).toMatch(/reorg deeper than the 8-block window/);
    // nothing was rolled back or half-applied
    expect(await dumpIndex(database.db, chain.deployment.chainId)).toEqual(before);
  });
});
