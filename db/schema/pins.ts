import { pgTable, text, integer, numeric, timestamp, serial, uniqueIndex, index } from 'drizzle-orm/pg-core';

/**
 * One pin request per (pinning service, CID, name) of a public, approved version: the manifest
 * (name `modeldao:<slug>@v<n>`) and every file (`modeldao:<slug>@v<n>/<path>`). It is also the work
 * queue of lib/ipfs/remote-pins.ts: an app server claims due rows with `FOR UPDATE SKIP LOCKED` and
 * a lease (lease_owner, lease_until), so two servers on one PostgreSQL never work on the same row and
 * a killed server's rows are taken over once its lease ends.
 *
 * want: 'pinned' while the version is live and public, 'unpinned' once revoked (or gated).
 * state: 'new' (nothing sent), 'sending' (a POST /pins may have reached the service: look it up by
 * cid+name before sending again, so a crash never duplicates it), the service's 'queued' | 'pinning'
 * | 'pinned' | 'failed', then 'unpinning' | 'unpinned'; 'failed' also when our retries ran out
 * (last_error says why).
 */
export const remotePin = pgTable(
  'remote_pin',
  {
    id: serial('id').primaryKey(),
    service: text('service').notNull(),
    chainId: integer('chain_id').notNull(),
    modelId: numeric('model_id', { precision: 78, scale: 0 }).notNull(),
    slug: text('slug').notNull(),
    version: integer('version').notNull(),
    /** file path in the manifest; '' for the manifest itself */
    path: text('path').notNull(),
    cid: text('cid').notNull(),
    sha256: text('sha256').notNull(),
    name: text('name').notNull(),
    want: text('want').notNull().default('pinned'),
    state: text('state').notNull().default('new'),
    requestId: text('request_id'),
    /** consecutive failed calls (reset by a success) */
    failures: integer('failures').notNull().default(0),
    /** status polls since the last state change (poll backoff) */
    polls: integer('polls').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('remote_pin_key').on(t.service, t.chainId, t.modelId, t.version, t.path),
    index('remote_pin_due_idx').on(t.nextAttemptAt),
    index('remote_pin_model_idx').on(t.chainId, t.slug),
  ],
);
