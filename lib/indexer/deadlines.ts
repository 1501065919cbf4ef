// Proposals whose voting period ended: Succeeded or Defeated. No log marks the change (it is a
// function of time), so the indexer records it as a chain-positioned row of its own
// (proposal_deadline_event, db/schema/deadlines.ts), written in the same transaction as the range
// that reaches past the deadline. The position is a property of the chain, not of how the indexer
// batched it, so every app server, restart and re-index computes the same id:
//   block: the first block whose timestamp is greater than the deadline (OpenZeppelin's
//          `state()` is Active while `deadline >= clock()`; ERC-6372 timestamp clock);
//   log:   DEADLINE_LOG_BASE + k, before every log of that block (a queue() in the same block comes
//          after it), k ordering the proposals that end in the same block by (deadline, id).
// Tallies are final by then (votes are refused after the deadline), and quorum(snapshot) is read
// from the index (lib/indexer/quorum.ts), as Governor.state() computes it.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { loadQuorumAt } from './quorum.ts';
import type { BlockHeader } from './store.ts';
import type { Exec } from './tables.ts';

/** int4's minimum: derived rows sort before log 0 of their block. */
export const DEADLINE_LOG_BASE = -2_147_483_648;
export const DEADLINE_EVENT = 'ProposalDeadlinePassed';
/** The deploy script's quorum numerator when the deployment record does not name one (as the web app assumes). */
export const DEFAULT_QUORUM_NUMERATOR = 4;

export interface DeadlineOptions {
  chainId: number;
  governor: string;
  /** The block the transaction moves the checkpoint to. */
  tip: BlockHeader;
  /** A block header from the chain (for the binary search on timestamps). */
  header: (n: number) => Promise<BlockHeader>;
  /** Quorum numerator before the first indexed QuorumNumeratorUpdated. */
  fallbackQuorumNumerator: number;
}

interface Candidate {
  id: string;
  deadline: number;
  snapshot: number;
  for_votes: string;
  against_votes: string;
  abstain_votes: string;
  created_block: number;
}

/** The first block in (low, high] whose timestamp is greater than `deadline`; ts(high) > deadline. */
async function firstBlockAfter(deadline: number, low: number, high: BlockHeader, header: (n: number) => Promise<BlockHeader>): Promise<BlockHeader> {
  let lo = low; // ts(lo) <= deadline (the proposal's creation block)
  let best = high;
  let hi = high.number;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const h = await header(mid);
    if (h.timestamp > deadline) {
      hi = mid;
      best = h;
    } else lo = mid;
  }
  return best;
}

/**
 * Writes the rows of proposals whose deadline the tip passes and that have none yet. Runs inside the
 * range's transaction, after its events were applied (so proposals created, extended or canceled in
 * the range are seen). A proposal canceled before its deadline never gets one.
 */
export async function recordDeadlines(db: Exec, o: DeadlineOptions): Promise<number> {
  const res = await db.execute(sql`
    SELECT p.proposal_id::text AS id, extract(epoch from coalesce(p.extended_deadline, p.vote_end))::float8 AS deadline,
           extract(epoch from p.vote_start)::float8 AS snapshot, p.for_votes::text AS for_votes, p.against_votes::text AS against_votes,
           p.abstain_votes::text AS abstain_votes, p.created_block::float8 AS created_block
      FROM proposal p
     WHERE p.chain_id = ${o.chainId}
       AND coalesce(p.extended_deadline, p.vote_end) < to_timestamp(${o.tip.timestamp})
       AND (p.canceled_at IS NULL OR p.canceled_at > coalesce(p.extended_deadline, p.vote_end))
       AND NOT EXISTS (SELECT 1 FROM proposal_deadline_event d WHERE d.chain_id = p.chain_id AND d.args->>'proposalId' = p.proposal_id::text)
     ORDER BY 2, p.proposal_id`);
  const due = (res.rows as unknown as Candidate[]).map((r) => ({
    ...r,
    deadline: Number(r.deadline),
    snapshot: Number(r.snapshot),
    created_block: Number(r.created_block),
  }));
  if (due.length === 0) return 0;
  const quorumAt = await loadQuorumAt(db as unknown as Db, o.chainId, o.fallbackQuorumNumerator);
  const headers = new Map<number, Promise<BlockHeader>>();
  const header = (n: number) => {
    let h = headers.get(n);
    if (!h) headers.set(n, (h = n === o.tip.number ? Promise.resolve(o.tip) : o.header(n)));
    return h;
  };
  const placed: { c: Candidate; block: BlockHeader }[] = [];
  for (const c of due) placed.push({ c, block: await firstBlockAfter(c.deadline, c.created_block, o.tip, header) });
  // rank within each block: rows already there (none in practice: see the note on batching above) first
  const taken = new Map<number, number>();
  for (const { c, block } of placed.sort((a, b) => a.block.number - b.block.number || a.c.deadline - b.c.deadline || cmpId(a.c.id, b.c.id))) {
    if (!taken.has(block.number)) {
      const n = await db.execute(sql`SELECT count(*)::int AS n FROM proposal_deadline_event WHERE chain_id = ${o.chainId} AND block_number = ${block.number}`);
      taken.set(block.number, Number((n.rows[0] as { n: number }).n));
    }
    const k = taken.get(block.number)!;
    taken.set(block.number, k + 1);
    const forVotes = BigInt(c.for_votes);
    const againstVotes = BigInt(c.against_votes);
    const abstainVotes = BigInt(c.abstain_votes);
    const quorum = quorumAt(BigInt(c.snapshot));
    const quorumReached = quorum <= forVotes + abstainVotes;
    const voteSucceeded = forVotes > againstVotes;
    const args = {
      proposalId: c.id,
      state: quorumReached && voteSucceeded ? 'succeeded' : 'defeated',
      deadline: c.deadline,
      forVotes: c.for_votes,
      againstVotes: c.against_votes,
      abstainVotes: c.abstain_votes,
      quorum: quorum.toString(),
      quorumReached,
      voteSucceeded,
    };
    await db.execute(sql`
      INSERT INTO proposal_deadline_event (chain_id, tx_hash, log_index, block_number, block_hash, block_time, address, event_name, args)
      VALUES (${o.chainId}, '', ${DEADLINE_LOG_BASE + k}, ${block.number}, ${block.hash}, to_timestamp(${block.timestamp}), ${o.governor.toLowerCase()},
              ${DEADLINE_EVENT}, ${JSON.stringify(args)}::jsonb)
      ON CONFLICT DO NOTHING`);
  }
  return placed.length;
}

function cmpId(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
