import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, http, type PublicClient } from 'viem';
import { openDatabase, type Database } from '../../db/client.ts';
import { dumpIndex, indexOnce, startIndexer } from '../../lib/indexer/index.ts';
import { startTestChain, type TestChain } from '../helpers/anvil.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { compareWithChain } from './chain-state.ts';
import { delegations, gov, governance } from './scenario.ts';

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
    const indexer = startIndexer({ db: database, publicClient: pub, deployment: chain.deployment, confirmations: 0, pollMs: 100, log: process.env.DEBUG_INDEXER ? console.log : undefined });
    try {
      const before = await dumpIndex(database.db, chain.deployment.chainId);
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
      // append-only: every earlier event is still there unchanged
      expect(after.governor_event.slice(0, before.governor_event.length)).toEqual(before.governor_event);
    } finally {
      await indexer.stop();
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
