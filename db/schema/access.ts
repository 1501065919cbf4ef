import { pgTable, text, integer, timestamp, primaryKey } from 'drizzle-orm/pg-core';

/**
 * Nonces of EIP-712 AccessRequests already exchanged for a token. A nonce is single-use per
 * (chain, registry, account): the insert either claims it or finds it taken.
 * Rows past their request's expiry can be deleted (a replay would fail the expiry check anyway).
 */
export const accessNonce = pgTable(
  'access_nonce',
  {
    chainId: integer('chain_id').notNull(),
    registry: text('registry').notNull(),
    account: text('account').notNull(),
    nonce: text('nonce').notNull(),
    modelId: text('model_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.registry, t.account, t.nonce] })],
);
