import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

// Webhooks (lib/events/webhooks.ts). Subscriptions come from the admin config (WEBHOOKS_FILE) and
// are upserted at start; deliveries are an outbox written in the same transaction that moves the
// subscription's cursor, so a delivery in flight survives a crash and nothing is enqueued twice.

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const webhookSubscription = pgTable('webhook_subscription', {
  id: text('id').primaryKey(),
  chainId: integer('chain_id').notNull(),
  url: text('url').notNull(),
  secret: text('secret').notNull(),
  /** null = every model / every kind */
  models: jsonb('models').$type<string[] | null>(),
  kinds: jsonb('kinds').$type<string[] | null>(),
  /** Position of the last event enqueued for it (chain order). */
  cursorBlock: bigint('cursor_block', { mode: 'number' }).notNull(),
  cursorLog: integer('cursor_log').notNull(),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  disabledAt: tstz('disabled_at'),
  disabledReason: text('disabled_reason'),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

export const webhookDelivery = pgTable(
  'webhook_delivery',
  {
    /** The idempotency id sent with every attempt: `<subscription>:<event id>`. */
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id').notNull(),
    eventId: text('event_id').notNull(),
    blockNumber: bigint('block_number', { mode: 'number' }).notNull(),
    logIndex: integer('log_index').notNull(),
    /** Insertion order breaks ties (a correction after the event it corrects). */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    /** The exact body POSTed (what the signature covers). */
    body: text('body').notNull(),
    /** 'pending' | 'delivered' | 'abandoned' (subscription disabled) */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at').notNull(),
    deliveredAt: tstz('delivered_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [index('webhook_delivery_pending_idx').on(t.subscriptionId, t.status, t.seq)],
);

export const webhookAttempt = pgTable(
  'webhook_attempt',
  {
    deliveryId: text('delivery_id').notNull(),
    attempt: integer('attempt').notNull(),
    at: tstz('at').notNull(),
    /** HTTP status, or null when there was none (timeout, refused). */
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);
