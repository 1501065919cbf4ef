import { eventTable } from './indexer.ts';

/**
 * A proposal's voting period ended: Succeeded or Defeated by the indexed tallies and the quorum of
 * its snapshot. No log marks it (the state is a function of time), so the indexer writes one row
 * per proposal at the chain position where `state()` changed: the first block whose timestamp is
 * past the deadline (including a late-quorum extension), before every log of that block (log_index
 * from -2^31 up, one per proposal ending in the block). Same shape and key as the *_event tables, in
 * the same transaction as the checkpoint, deleted with them on a reorg (lib/indexer/deadlines.ts).
 * `tx_hash` is empty (no transaction); `event_name` is 'ProposalDeadlinePassed'.
 */
export const proposalDeadlineEvent = eventTable('proposal_deadline_event');
