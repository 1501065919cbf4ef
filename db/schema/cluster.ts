import { bigint, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * What uploads in flight hold, shared by every app server on the database (lib/artifacts/upload-claims.ts):
 * `quota` rows are bytes reserved against the account's quota while a body streams (or until a new
 * session's row exists); `slot` rows are the account's concurrent uploads. A row is a lease: its
 * server renews expires_at while it holds it, so a crashed server's claims lapse by themselves.
 */
export const uploadClaim = pgTable(
  'upload_claim',
  {
    id: text('id').primaryKey(),
    /** lowercase 0x address */
    account: text('account').notNull(),
    kind: text('kind', { enum: ['quota', 'slot'] }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [index('upload_claim_account_idx').on(t.account, t.kind)],
);
