import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Delegate statements (#16): one per (chain, governor, delegate), the latest signed one. Written by
 * PUT /api/delegates/{address} only with a valid EIP-712 signature by `delegate` (lib/delegates/statement.ts)
 * and only over a row with an older issued_at; served with `signature` so anyone can verify it.
 */
export const delegateStatement = pgTable(
  'delegate_statement',
  {
    chainId: integer('chain_id').notNull(),
    /** the governor the signature's domain names (lowercase) */
    governor: text('governor').notNull(),
    /** lowercase */
    delegate: text('delegate').notNull(),
    name: text('name').notNull(),
    statement: text('statement').notNull(),
    links: jsonb('links').$type<string[]>().notNull(),
    models: jsonb('models').$type<string[]>().notNull(),
    /** unix seconds, as signed */
    issuedAt: bigint('issued_at', { mode: 'number' }).notNull(),
    expiry: bigint('expiry', { mode: 'number' }).notNull(),
    signature: text('signature').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.governor, t.delegate] }), index('delegate_statement_updated_idx').on(t.chainId, t.governor, t.updatedAt)],
);
