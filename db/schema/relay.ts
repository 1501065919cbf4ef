import { sql } from 'drizzle-orm';
import { pgTable, text, integer, bigint, timestamp, jsonb, primaryKey, uniqueIndex, index } from 'drizzle-orm/pg-core';

/**
 * The relayer's nonce journal: one row per sending key and chain. The next nonce is taken from this
 * row (locked) in the same transaction that records the request and its signed transaction, so
 * concurrent requests and restarts never reuse or skip a nonce.
 */
export const relaySender = pgTable(
  'relay_sender',
  {
    chainId: integer('chain_id').notNull(),
    address: text('address').notNull(),
    nextNonce: bigint('next_nonce', { mode: 'number' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.address] })],
);

/** One signed transaction of a relayed request: the first one, then each fee-bumped replacement (same nonce). */
export interface RelayAttempt {
  hash: string;
  raw: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  at: string;
}

/**
 * Every relayed vote or delegation, written (with its signed transaction) before anything is sent:
 * after a kill -9 the server rebroadcasts or reconciles it with the chain by nonce and hashes.
 * One row per (chain, contract, signer, replay key) while not failed: the member's signed message
 * counts once on chain, so a retried request finds its row instead of submitting a second transaction.
 */
export const relayRequest = pgTable(
  'relay_request',
  {
    id: text('id').primaryKey(),
    chainId: integer('chain_id').notNull(),
    /** 'vote' | 'delegate' */
    kind: text('kind').notNull(),
    /** the governor (vote) or the token (delegate) */
    target: text('target').notNull(),
    /** the member who signed (lowercase) */
    signer: text('signer').notNull(),
    /**
     * What makes the signed message single-use on chain, so one row stands for it: a delegation's token
     * nonce (delegateBySig consumes it); a ballot's proposal id (ModelGovernor checks the ballot nonce but
     * does not consume it: a voter is counted once per proposal). The column keeps its first name.
     */
    replayKey: text('signer_nonce').notNull(),
    proposalId: text('proposal_id'),
    /** the call's input and what it means (support, reason, delegatee…), for status pages */
    calldata: text('calldata').notNull(),
    detail: jsonb('detail').$type<Record<string, string>>().notNull(),
    /** 'submitted' → 'mined' | 'reverted' | 'failed' */
    status: text('status').notNull(),
    sender: text('sender').notNull(),
    nonce: bigint('nonce', { mode: 'number' }).notNull(),
    gasLimit: text('gas_limit').notNull(),
    attempts: jsonb('attempts').$type<RelayAttempt[]>().notNull(),
    /** wei held against the daily budget while the request is pending (gasLimit × maxFeePerGas of the latest attempt) */
    reservedWei: text('reserved_wei').notNull(),
    /** wei actually paid (gasUsed × effectiveGasPrice) once mined */
    spentWei: text('spent_wei'),
    /** UTC day (YYYY-MM-DD) the request counts against */
    budgetDay: text('budget_day').notNull(),
    txHash: text('tx_hash'),
    blockNumber: bigint('block_number', { mode: 'number' }),
    gasUsed: text('gas_used'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('relay_request_signature_uq')
      .on(t.chainId, t.target, t.signer, t.replayKey)
      .where(sql`status <> 'failed'`),
    uniqueIndex('relay_request_sender_nonce_uq').on(t.chainId, t.sender, t.nonce),
    index('relay_request_status_idx').on(t.status),
    index('relay_request_day_idx').on(t.budgetDay),
  ],
);
