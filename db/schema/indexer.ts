import { bigint, boolean, index, integer, jsonb, numeric, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';

// Index of chain events (lib/indexer writes, everybody reads). Conventions:
// - addresses are lowercase 0x-hex text; uint256 values and ids are numeric(78,0) read as decimal strings;
// - times are timestamptz (the token's ERC-6372 clock is unix seconds);
// - *_event tables are append-only, keyed by (chain_id, block_number, log_index), args as JSON with
//   uint256 as decimal strings; the other tables are derived from them and are updated in the same
//   transaction as indexer_checkpoint, so a reader never sees state ahead of or behind the checkpoint.

const uint = (name: string) => numeric(name, { precision: 78, scale: 0 });
const block = (name: string) => bigint(name, { mode: 'number' });
const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** An append-only event table's shape (also used by derived, chain-positioned events: db/schema/deadlines.ts). */
export function eventTable<const N extends string>(name: N) {
  return pgTable(
    name,
    {
      chainId: integer('chain_id').notNull(),
      txHash: text('tx_hash').notNull(),
      logIndex: integer('log_index').notNull(),
      blockNumber: block('block_number').notNull(),
      blockHash: text('block_hash').notNull(),
      blockTime: tstz('block_time').notNull(),
      address: text('address').notNull(),
      eventName: text('event_name').notNull(),
      args: jsonb('args').$type<Record<string, unknown>>().notNull(),
    },
    // Keyed by (chain_id, block_number, log_index): as unique as (tx_hash, log_index) on a canonical
    // chain, in chain order (what replay, rollback and dumps read), and appended at the right edge of
    // the index during backfill — a random tx_hash key plus a separate block index made inserts ~2x
    // slower (measured on PGlite). No further indexes: readers use the derived tables.
    (t) => [primaryKey({ columns: [t.chainId, t.blockNumber, t.logIndex] })],
  );
}

/** ProposalCreated, VoteCast(WithParams), ProposalQueued/Executed/Canceled/Extended, settings changes. */
export const governorEvent = eventTable('governor_event');
/** DelegateChanged, DelegateVotesChanged, Transfer. */
export const tokenEvent = eventTable('token_event');
/** CallScheduled, CallExecuted, CallSalt, Cancelled, MinDelayChange, role changes. */
export const timelockEvent = eventTable('timelock_event');
/** Every IModelRegistry event. */
export const registryEvent = eventTable('registry_event');
/** ERC-20 Transfer events of other tokens (not the DAO's) to or from the timelock: the treasury's other assets. */
export const erc20Event = eventTable('erc20_event');

/** Last indexed block per chain; moves in the same transaction as the rows it covers. */
export const indexerCheckpoint = pgTable('indexer_checkpoint', {
  chainId: integer('chain_id').primaryKey(),
  blockNumber: block('block_number').notNull(),
  blockHash: text('block_hash').notNull(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** Hashes of recent indexed blocks (the reorg window), to find the common ancestor after a reorg. */
export const indexerBlock = pgTable(
  'indexer_block',
  {
    chainId: integer('chain_id').notNull(),
    blockNumber: block('block_number').notNull(),
    blockHash: text('block_hash').notNull(),
    parentHash: text('parent_hash').notNull(),
    blockTime: tstz('block_time').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.blockNumber] })],
);

// ---- registry ----

export const model = pgTable(
  'model',
  {
    chainId: integer('chain_id').notNull(),
    modelId: uint('model_id').notNull(),
    slug: text('slug').notNull(),
    /** 'Public' | 'TokenHolders' | 'Allowlist' (IModelRegistry.AccessKind names). */
    accessKind: text('access_kind').notNull(),
    accessToken: text('access_token').notNull(),
    accessMinBalance: uint('access_min_balance').notNull(),
    /** 0 = no current version. */
    currentVersion: integer('current_version').notNull(),
    versionCount: integer('version_count').notNull(),
    registeredAtBlock: block('registered_at_block').notNull(),
    registeredAt: tstz('registered_at').notNull(),
    registeredTx: text('registered_tx').notNull(),
    updatedAtBlock: block('updated_at_block').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.modelId] }), index('model_slug_idx').on(t.chainId, t.slug)],
);

export const modelVersion = pgTable(
  'model_version',
  {
    chainId: integer('chain_id').notNull(),
    modelId: uint('model_id').notNull(),
    version: integer('version').notNull(),
    manifestDigest: text('manifest_digest').notNull(),
    parentVersion: integer('parent_version').notNull(),
    /** publishedAt from the event (block time of publication). */
    publishedAt: tstz('published_at').notNull(),
    publishedBlock: block('published_block').notNull(),
    publishedTx: text('published_tx').notNull(),
    /** 'Active' | 'Deprecated' | 'Revoked' (IModelRegistry.VersionStatus names). */
    status: text('status').notNull(),
    statusChangedBlock: block('status_changed_block'),
    statusChangedAt: tstz('status_changed_at'),
    statusChangedTx: text('status_changed_tx'),
    /** The account that called deprecate/revoke (timelock or guardian). */
    statusChangedBy: text('status_changed_by'),
    /** Most recent period as the model's current version; current_to null while still current. */
    currentFromBlock: block('current_from_block'),
    currentFrom: tstz('current_from'),
    currentToBlock: block('current_to_block'),
    currentTo: tstz('current_to'),
    /** The transactions that made it current and that ended that (links to the proposal that did it). */
    currentFromTx: text('current_from_tx'),
    currentToTx: text('current_to_tx'),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.modelId, t.version] }), index('model_version_digest_idx').on(t.manifestDigest)],
);

export const modelAllowlist = pgTable(
  'model_allowlist',
  {
    chainId: integer('chain_id').notNull(),
    modelId: uint('model_id').notNull(),
    account: text('account').notNull(),
    allowed: boolean('allowed').notNull(),
    updatedAtBlock: block('updated_at_block').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.modelId, t.account] })],
);

// ---- governor ----

export const proposal = pgTable(
  'proposal',
  {
    chainId: integer('chain_id').notNull(),
    proposalId: uint('proposal_id').notNull(),
    proposer: text('proposer').notNull(),
    targets: jsonb('targets').$type<string[]>().notNull(),
    /** wei amounts as decimal strings */
    values: jsonb('values').$type<string[]>().notNull(),
    calldatas: jsonb('calldatas').$type<string[]>().notNull(),
    signatures: jsonb('signatures').$type<string[]>().notNull(),
    description: text('description').notNull(),
    descriptionHash: text('description_hash').notNull(),
    /** Snapshot time (ERC-6372 timestamp clock): voting opens after it. */
    voteStart: tstz('vote_start').notNull(),
    /** Deadline as proposed. */
    voteEnd: tstz('vote_end').notNull(),
    /** Deadline after a late-quorum extension (ProposalExtended), else null. */
    extendedDeadline: tstz('extended_deadline'),
    forVotes: uint('for_votes').notNull(),
    againstVotes: uint('against_votes').notNull(),
    abstainVotes: uint('abstain_votes').notNull(),
    voteCount: integer('vote_count').notNull(),
    createdBlock: block('created_block').notNull(),
    createdAt: tstz('created_at').notNull(),
    createdTx: text('created_tx').notNull(),
    eta: tstz('eta'),
    queuedBlock: block('queued_block'),
    queuedAt: tstz('queued_at'),
    queuedTx: text('queued_tx'),
    executedBlock: block('executed_block'),
    executedAt: tstz('executed_at'),
    executedTx: text('executed_tx'),
    canceledBlock: block('canceled_block'),
    canceledAt: tstz('canceled_at'),
    canceledTx: text('canceled_tx'),
    /** The timelock operation id (CallScheduled) once queued: anyone may execute it on the timelock directly. */
    timelockId: text('timelock_id'),
  },
  (t) => [
    primaryKey({ columns: [t.chainId, t.proposalId] }),
    index('proposal_created_idx').on(t.chainId, t.createdBlock),
    index('proposal_timelock_idx').on(t.chainId, t.timelockId),
  ],
);

export const vote = pgTable(
  'vote',
  {
    chainId: integer('chain_id').notNull(),
    proposalId: uint('proposal_id').notNull(),
    voter: text('voter').notNull(),
    /** 0 Against, 1 For, 2 Abstain (GovernorCountingSimple). */
    support: smallint('support').notNull(),
    weight: uint('weight').notNull(),
    reason: text('reason').notNull(),
    /** VoteCastWithParams params as 0x-hex, else null. */
    params: text('params'),
    blockNumber: block('block_number').notNull(),
    votedAt: tstz('voted_at').notNull(),
    txHash: text('tx_hash').notNull(),
    logIndex: integer('log_index').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.proposalId, t.voter] }), index('vote_voter_idx').on(t.chainId, t.voter)],
);

export const delegate = pgTable(
  'delegate',
  {
    chainId: integer('chain_id').notNull(),
    address: text('address').notNull(),
    /** Current votes (DelegateVotesChanged.newVotes) — equals token.getVotes(address). */
    votingPower: uint('voting_power').notNull(),
    /** Accounts whose delegate is this address. */
    delegatorCount: integer('delegator_count').notNull(),
    votesCast: integer('votes_cast').notNull(),
    updatedAtBlock: block('updated_at_block').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.address] })],
);

/** Who each account delegates to (token.delegates(account)). */
export const delegation = pgTable(
  'delegation',
  {
    chainId: integer('chain_id').notNull(),
    delegator: text('delegator').notNull(),
    delegatee: text('delegatee').notNull(),
    updatedAtBlock: block('updated_at_block').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.delegator] }), index('delegation_delegatee_idx').on(t.chainId, t.delegatee)],
);

export const tokenBalance = pgTable(
  'token_balance',
  {
    chainId: integer('chain_id').notNull(),
    address: text('address').notNull(),
    balance: uint('balance').notNull(),
    updatedAtBlock: block('updated_at_block').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.address] })],
);

/** Governor parameters as changed by events (null until a change event is seen; initial values come from the deployment record or the contract's views). */
export const governorSettings = pgTable('governor_settings', {
  chainId: integer('chain_id').primaryKey(),
  votingDelay: bigint('voting_delay', { mode: 'number' }),
  votingPeriod: bigint('voting_period', { mode: 'number' }),
  proposalThreshold: uint('proposal_threshold'),
  quorumNumerator: uint('quorum_numerator'),
  lateQuorumVoteExtension: bigint('late_quorum_vote_extension', { mode: 'number' }),
  timelock: text('timelock'),
  proposalGuardian: text('proposal_guardian'),
  timelockMinDelay: bigint('timelock_min_delay', { mode: 'number' }),
  updatedAtBlock: block('updated_at_block').notNull(),
});
