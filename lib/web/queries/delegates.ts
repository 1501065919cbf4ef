import 'server-only';
import { cache } from 'react';
import { count, desc, eq, gt, gte, and, sql } from 'drizzle-orm';
import { delegate, delegation, proposal, tokenBalance, vote } from '@/db/schema';
import { getEnv } from '@/lib/web/server-env';
import { proposalTitle } from '@/lib/web/actions';
import { getStatement, listStatements } from '@/lib/delegates/store';
import type { StoredStatementJson } from '@/lib/delegates/statement';
import { getDb } from './db';
import { getDeployment } from './chain';

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

/** Published statements by delegate address (lowercase), for the delegates list. */
export const getStatements = cache(async (): Promise<Record<string, StoredStatementJson>> => {
  const dep = getDeployment();
  if (!dep) return {};
  const list = await listStatements(await getDb(), getEnv().CHAIN_ID, dep.contracts.ModelGovernor, 500);
  return Object.fromEntries(list.map((s) => [s.statement.delegate.toLowerCase(), s]));
});

export interface DelegateVote {
  proposalId: string;
  title: string;
  support: 0 | 1 | 2;
  weight: string;
  reason: string;
  votedAt: number;
  txHash: string;
}

export interface DelegateProfile {
  address: string;
  statement: StoredStatementJson | null;
  votingPower: string;
  delegatorCount: number;
  votes: DelegateVote[];
  /** when the address first had voting power (unix seconds), null if never */
  powerSince: number | null;
  /** proposals whose snapshot came after powerSince: the ones this delegate could vote on */
  eligibleProposals: number;
  /** of those, how many the delegate voted on */
  votedEligible: number;
  delegators: { address: string; balance: string }[];
}

const sec = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * A delegate's page: statement, voting history, participation = votes on proposals whose snapshot is
 * after the delegate first had voting power / those proposals, and delegators (indexed DelegateChanged)
 * with their token balances (indexed Transfer).
 */
export const getDelegateProfile = cache(async (address: string): Promise<DelegateProfile> => {
  const a = address.toLowerCase();
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const dep = getDeployment();
  const [[d], votes, delegators, firstPower, statement] = await Promise.all([
    db
      .select()
      .from(delegate)
      .where(and(eq(delegate.chainId, chainId), eq(delegate.address, a))),
    db
      .select({ v: vote, description: proposal.description, voteStart: proposal.voteStart })
      .from(vote)
      .innerJoin(proposal, and(eq(proposal.chainId, vote.chainId), eq(proposal.proposalId, vote.proposalId)))
      .where(and(eq(vote.chainId, chainId), eq(vote.voter, a)))
      .orderBy(desc(vote.blockNumber)),
    db
      .select({ address: delegation.delegator, balance: sql<string>`coalesce(${tokenBalance.balance}, 0)::text` })
      .from(delegation)
      .leftJoin(tokenBalance, and(eq(tokenBalance.chainId, delegation.chainId), eq(tokenBalance.address, delegation.delegator)))
      .where(and(eq(delegation.chainId, chainId), eq(delegation.delegatee, a)))
      .orderBy(sql`coalesce(${tokenBalance.balance}, 0) desc`)
      .limit(500),
    // DelegateVotesChanged is indexed in token_event: the first one that gave this address votes
    db.execute(
      sql`select extract(epoch from block_time)::float8 as t from token_event where chain_id = ${chainId} and event_name = 'DelegateVotesChanged' and args->>'delegate' = ${a} and args->>'newVotes' <> '0' order by block_number, log_index limit 1`,
    ),
    dep ? getStatement(db, chainId, dep.contracts.ModelGovernor, a) : Promise.resolve(null),
  ]);
  const powerSince = (firstPower.rows[0] as { t?: number } | undefined)?.t ?? null;
  let eligibleProposals = 0;
  if (powerSince !== null) {
    const [n] = await db
      .select({ n: count() })
      .from(proposal)
      .where(and(eq(proposal.chainId, chainId), gte(proposal.voteStart, new Date(powerSince * 1000))));
    eligibleProposals = Number(n?.n ?? 0);
  }
  const votedEligible = powerSince === null ? 0 : votes.filter((r) => sec(r.voteStart) >= powerSince).length;
  return {
    address: a,
    statement,
    votingPower: d ? String(d.votingPower) : '0',
    delegatorCount: d?.delegatorCount ?? 0,
    votes: votes.map(({ v, description }) => ({
      proposalId: String(v.proposalId),
      title: proposalTitle(description),
      support: v.support as 0 | 1 | 2,
      weight: String(v.weight),
      reason: v.reason,
      votedAt: sec(v.votedAt),
      txHash: v.txHash,
    })),
    powerSince,
    eligibleProposals,
    votedEligible,
    delegators: delegators.map((x) => ({ address: x.address, balance: x.balance })),
  };
});
