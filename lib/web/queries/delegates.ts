import 'server-only';
import { cache } from 'react';
import { count, desc, eq, gt, and } from 'drizzle-orm';
import { delegate, proposal } from '@/db/schema';
import { getEnv } from '@/lib/web/server-env';
import { getDb } from './db';

export interface DelegateRow {
  address: string;
  votingPower: string;
  delegatorCount: number;
  votesCast: number;
}

/** Top delegates by voting power, with participation = votes cast / proposals created. */
export const getTopDelegates = cache(async (limit: number): Promise<{ rows: DelegateRow[]; proposalCount: number }> => {
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const [rows, [pc]] = await Promise.all([
    db
      .select()
      .from(delegate)
      .where(and(eq(delegate.chainId, chainId), gt(delegate.votingPower, '0')))
      .orderBy(desc(delegate.votingPower))
      .limit(limit),
    db.select({ n: count() }).from(proposal).where(eq(proposal.chainId, chainId)),
  ]);
  return {
    rows: rows.map((r) => ({
      address: r.address,
      votingPower: String(r.votingPower),
      delegatorCount: r.delegatorCount,
      votesCast: r.votesCast,
    })),
    proposalCount: Number(pc?.n ?? 0),
  };
});
