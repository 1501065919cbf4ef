// indexer_checkpoint.updated_at moves with every checkpoint write, and the opt-in profile line
// (INDEXER_PROFILE=1) is printed once.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPublicClient, http, type PublicClient } from 'viem';
import { openDatabase, type Database } from '../../db/client.ts';
import { startTestChain, type TestChain } from '../helpers/anvil.ts';

process.env.INDEXER_PROFILE = '1'; // read when lib/indexer/profile.ts loads: imported below, after this
const { indexOnce } = await import('../../lib/indexer/index.ts');

let chain: TestChain;
let pub: PublicClient;
let database: Database;

beforeAll(async () => {
  chain = await startTestChain();
  pub = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
});

afterAll(async () => {
  await database?.close();
  await chain?.stop();
});

async function checkpointRow() {
  const r = await database.db.execute(sql`SELECT block_number, updated_at FROM indexer_checkpoint WHERE chain_id = ${chain.deployment.chainId}`);
  const row = r.rows[0] as { block_number: string | number; updated_at: string | Date };
  return { block: Number(row.block_number), updatedAt: new Date(row.updated_at).getTime() };
}

describe('indexer checkpoint', () => {
  it('updated_at is set on every checkpoint write, not only on insert', async () => {
    const logs: string[] = [];
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    await indexOnce({ db: database, publicClient: pub, deployment: chain.deployment, confirmations: 0, log: (m) => void logs.push(m) }); // a log function returns nothing, like console.log
    const first = await checkpointRow();
    // The profile line goes to the caller's log, once, and not to stderr as well.
    expect(logs.filter((l) => l.startsWith('phases:'))).toHaveLength(1);
    expect(errors.mock.calls.filter((c) => String(c[0]).startsWith('phases:'))).toHaveLength(0);
    errors.mockRestore();

    await pub.request({ method: 'evm_mine' as never, params: [] as never });
    // updated_at has at least millisecond resolution; make sure the clock has moved past it.
    const before = Date.now();
    while (Date.now() <= first.updatedAt) await new Promise((r) => setTimeout(r, 5));
    await indexOnce({ db: database, publicClient: pub, deployment: chain.deployment, confirmations: 0, log: () => {} });
    const second = await checkpointRow();
    expect(second.block).toBe(first.block + 1);
    expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
    expect(second.updatedAt).toBeGreaterThanOrEqual(before - 1000);
  });
});
