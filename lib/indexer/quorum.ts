import { sql } from 'drizzle-orm';
import { zeroAddress as ZERO } from 'viem';
import type { Db } from '../../db/client.ts';

/** GovernorVotesQuorumFraction's denominator (not overridden by ModelGovernor). */
const QUORUM_DENOMINATOR = 100n;

/** Checkpoints (timepoint → value), sorted by timepoint; value at t = last checkpoint with key ≤ t. */
type History = { t: number[]; v: bigint[] };

function at(h: History, t: number, fallback: bigint): bigint {
  let lo = 0;
  let hi = h.t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (h.t[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? fallback : h.v[lo - 1]!;
}

/**
 * `governor.quorum(timepoint)` from the index, without a chain call per proposal: the token's total
 * supply at the timepoint (mints and burns, as ERC20Votes checkpoints it by block timestamp) times the
 * quorum numerator in force then (QuorumNumeratorUpdated), over 100. So a list judges each proposal
 * by the quorum of its own snapshot, as `state()` does, even after a numerator change or new mints.
 * `fallbackNumerator` applies before the first indexed QuorumNumeratorUpdated.
 */
export async function loadQuorumAt(db: Db, chainId: number, fallbackNumerator: number): Promise<(timepoint: bigint) => bigint> {
  const [supplyRows, numeratorRows] = await Promise.all([
    db.execute(sql`select extract(epoch from block_time)::float8 as t, args->>'from' as "from", args->>'value' as value
        from token_event
        where chain_id = ${chainId} and event_name = 'Transfer' and (args->>'from' = ${ZERO} or args->>'to' = ${ZERO})
        order by block_number, log_index`),
    db.execute(sql`select extract(epoch from block_time)::float8 as t, args->>'newQuorumNumerator' as n
        from governor_event where chain_id = ${chainId} and event_name = 'QuorumNumeratorUpdated'
        order by block_number, log_index`),
  ]);
  const supply: History = { t: [], v: [] };
  let total = 0n;
  for (const r of supplyRows.rows as { t: number; from: string; value: string }[]) {
    total += r.from === ZERO ? BigInt(r.value) : -BigInt(r.value);
    supply.t.push(Number(r.t));
    supply.v.push(total);
  }
  const numerator: History = { t: [], v: [] };
  for (const r of numeratorRows.rows as { t: number; n: string }[]) {
    numerator.t.push(Number(r.t));
    numerator.v.push(BigInt(r.n));
  }
  const fallback = BigInt(fallbackNumerator);
  return (timepoint: bigint) => (at(supply, Number(timepoint), 0n) * at(numerator, Number(timepoint), fallback)) / QUORUM_DENOMINATOR;
}
