// Signed webhooks. Auth model: subscriptions are admin config (WEBHOOKS_FILE, a JSON list), not an
// open API — so outgoing requests go only to URLs the operator wrote down. Each is upserted into
// webhook_subscription at start (a new one starts at the current checkpoint; one removed from the
// file is disabled).
//
// Delivery: an outbox. After each move of the event follower, matching events are written to
// webhook_delivery in the same transaction that moves the subscription's cursor, then POSTed one at
// a time per subscription in chain order (the next waits until the previous succeeded), so delivery
// is at-least-once and ordered, and survives a crash at any point. Every attempt is logged in
// webhook_attempt. Non-2xx answers and timeouts are retried with exponential backoff and full
// jitter; after maxFailures consecutive failures the subscription is disabled with the reason.
//
// Signature (the Stripe scheme): header `modeldao-signature: t=<unix s>,v1=<hex HMAC-SHA256(secret,
// "<t>.<raw body>")>`; receivers recompute it over the raw body, compare in constant time and refuse
// a t outside their replay window (verifyWebhookSignature in lib/sdk/webhooks.ts). `modeldao-webhook-id`
// is the idempotency id: the same for every attempt of a delivery.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client.ts';
import { EVENT_TYPES, matches, readRawEvents, type Correction, type EventFilter, type StreamEvent } from './derive.ts';
import type { EventHub } from './hub.ts';
import { signWebhook } from '../sdk/webhooks.ts';
import { isSlug } from '../slug.ts';
import type { Env } from '../env.ts';

const subscriptionSchema = z.object({
  id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'id: letters, digits, _ and -, at most 64'),
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'url must be http(s)'),
  secret: z.string().min(16, 'secret must be at least 16 characters'),
  models: z.array(z.string().refine(isSlug, 'not a model slug')).optional(),
  kinds: z.array(z.enum(EVENT_TYPES)).optional(),
});
export type WebhookSubscriptionConfig = z.infer<typeof subscriptionSchema>;

export function loadWebhookConfig(file: string): WebhookSubscriptionConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`WEBHOOKS_FILE ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = z.array(subscriptionSchema).safeParse(raw);
  if (!r.success) throw new Error(`WEBHOOKS_FILE ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export interface WebhookOptions {
  db: Db;
  hub: EventHub;
  chainId: number;
  subscriptions: WebhookSubscriptionConfig[];
  /** Whether this process may send: the holder of the senders lock (Leadership in lib/indexer/lock.ts). */
  isLeader: () => boolean;
  timeoutMs: number;
  maxFailures: number;
  /** First retry delay; doubles per attempt up to maxDelayMs, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Response bytes read before the connection is cut. */
  maxResponseBytes?: number;
  log?: (m: string) => void;
}

interface SubRow {
  id: string;
  url: string;
  secret: string;
  models: string[] | null;
  kinds: string[] | null;
  cursor_block: number;
  cursor_log: number;
  consecutive_failures: number;
}

/** The head delivery of a subscription, with what sending it needs (sendDue's query). */
type DueDelivery = {
  id: string;
  subscription_id: string;
  body: string;
  attempts: number;
  url: string;
  secret: string;
  consecutive_failures: number;
};

function parseJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/**
 * The dispatcher a process runs when WEBHOOKS_FILE is set: every app server, and the standalone
 * indexer (`npm run indexer`) — whichever of them holds the senders lock sends.
 */
export function webhooksFromEnv(
  env: Pick<Env, 'WEBHOOKS_FILE' | 'WEBHOOK_TIMEOUT_MS' | 'WEBHOOK_MAX_FAILURES' | 'WEBHOOK_RETRY_BASE_MS' | 'WEBHOOK_RETRY_MAX_MS'>,
  o: Pick<WebhookOptions, 'db' | 'hub' | 'chainId' | 'isLeader' | 'log'>,
): WebhookDispatcher | null {
  if (!env.WEBHOOKS_FILE) return null;
  return new WebhookDispatcher({
    ...o,
    subscriptions: loadWebhookConfig(env.WEBHOOKS_FILE),
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    maxFailures: env.WEBHOOK_MAX_FAILURES,
    baseDelayMs: env.WEBHOOK_RETRY_BASE_MS,
    maxDelayMs: env.WEBHOOK_RETRY_MAX_MS,
  });
}

export class WebhookDispatcher {
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private enqueueing: Promise<void> = Promise.resolve();
  private seq = Date.now() * 1000;

  constructor(private o: WebhookOptions) {}

  async start(): Promise<void> {
    const db = this.o.db;
    const cp = await db.execute(sql`SELECT block_number::float8 AS b FROM indexer_checkpoint WHERE chain_id = ${this.o.chainId}`);
    const start = Number((cp.rows[0] as { b?: number } | undefined)?.b ?? -1);
    const ids = this.o.subscriptions.map((s) => s.id);
    for (const s of this.o.subscriptions) {
      await db.execute(sql`
        INSERT INTO webhook_subscription (id, chain_id, url, secret, models, kinds, cursor_block, cursor_log)
        VALUES (${s.id}, ${this.o.chainId}, ${s.url}, ${s.secret}, ${JSON.stringify(s.models ?? null)}::jsonb, ${JSON.stringify(s.kinds ?? null)}::jsonb, ${start}, 2147483647)
        ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret, models = excluded.models, kinds = excluded.kinds,
          disabled_at = CASE WHEN webhook_subscription.disabled_reason = 'removed from the admin config' THEN NULL ELSE webhook_subscription.disabled_at END,
          disabled_reason = CASE WHEN webhook_subscription.disabled_reason = 'removed from the admin config' THEN NULL ELSE webhook_subscription.disabled_reason END`);
    }
    const idList =
      ids.length > 0
        ? sql.join(
            ids.map((i) => sql`${i}`),
            sql`, `,
          )
        : sql`''`;
    await db.execute(
      sql`UPDATE webhook_subscription SET disabled_at = now(), disabled_reason = 'removed from the admin config' WHERE chain_id = ${this.o.chainId} AND disabled_at IS NULL AND id NOT IN (${idList})`,
    );
    this.o.hub.subscribe({
      onEvents: () => this.poke(),
      onCorrections: (cs) => void this.correct(cs),
    });
    this.loop = this.run();
    this.poke();
  }

  /** New rows were indexed: enqueue, then send. */
  poke(): void {
    this.enqueueing = this.enqueueing
      .then(() => this.enqueue())
      .catch((err) => this.o.log?.(`webhooks: enqueue failed: ${err instanceof Error ? err.message : String(err)}`));
    void this.enqueueing.then(() => this.wake?.());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.enqueueing;
  }

  private async subscriptions(): Promise<SubRow[]> {
    const res = await this.o.db.execute(
      sql`SELECT id, url, secret, models, kinds, cursor_block::float8 AS cursor_block, cursor_log, consecutive_failures FROM webhook_subscription WHERE chain_id = ${this.o.chainId} AND disabled_at IS NULL ORDER BY id`,
    );
    return (res.rows as (Omit<SubRow, 'models' | 'kinds'> & { models: unknown; kinds: unknown })[]).map((r) => ({
      ...r,
      models: parseJson(r.models),
      kinds: parseJson(r.kinds),
      cursor_block: Number(r.cursor_block),
      cursor_log: Number(r.cursor_log),
    }));
  }

  private filterOf(s: SubRow): EventFilter {
    return { models: s.models ? new Set(s.models) : undefined, types: s.kinds ? new Set(s.kinds) : undefined };
  }

  private async enqueue(): Promise<void> {
    if (!this.o.isLeader()) return;
    const upTo = this.o.hub.processedTo;
    if (upTo === null) return;
    for (const s of await this.subscriptions()) {
      let after = { block: s.cursor_block, log: s.cursor_log };
      for (;;) {
        const rows = await readRawEvents(this.o.db, this.o.chainId, after, upTo, 1000);
        const events = (await this.o.hub.deriver.derive(rows)).filter((e) => matches(this.filterOf(s), e));
        const last = rows.at(-1);
        const cursor = last ? { block: last.blockNumber, log: last.logIndex } : null;
        await this.o.db.transaction(async (tx) => {
          for (const e of events) await this.insertDelivery(tx as unknown as Db, s.id, e.id, e.blockNumber, e.logIndex, JSON.stringify(e));
          if (cursor) await tx.execute(sql`UPDATE webhook_subscription SET cursor_block = ${cursor.block}, cursor_log = ${cursor.log} WHERE id = ${s.id}`);
        });
        if (rows.length < 1000) break;
        after = cursor!;
      }
    }
  }

  private async insertDelivery(db: Db, subId: string, eventId: string, block: number, log: number, body: string): Promise<void> {
    await db.execute(sql`
      INSERT INTO webhook_delivery (id, subscription_id, event_id, block_number, log_index, seq, body, status, next_attempt_at)
      VALUES (${`${subId}:${eventId}`}, ${subId}, ${eventId}, ${block}, ${log}, ${this.seq++}, ${body}, 'pending', now())
      ON CONFLICT (id) DO NOTHING`);
  }

  /** A reorg removed events: subscribers that got (or will get) them are told; cursors step back. */
  private async correct(cs: Correction[]): Promise<void> {
    this.enqueueing = this.enqueueing.then(async () => {
      if (!this.o.isLeader()) return;
      const low = Math.min(...cs.map((c) => c.removed.blockNumber));
      for (const s of await this.subscriptions()) {
        const f = this.filterOf(s);
        await this.o.db.transaction(async (tx) => {
          for (const c of cs) {
            if (!matches(f, c.removed)) continue;
            await this.insertDelivery(tx as unknown as Db, s.id, `correction-${c.removed.id}`, c.removed.blockNumber, c.removed.logIndex, JSON.stringify(c));
          }
          await tx.execute(
            sql`UPDATE webhook_subscription SET cursor_block = ${low - 1}, cursor_log = 2147483647 WHERE id = ${s.id} AND cursor_block >= ${low}`,
          );
        });
      }
    });
    await this.enqueueing.catch(() => {});
    this.poke();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let next = 1000;
      try {
        if (this.o.isLeader()) next = await this.sendDue();
      } catch (err) {
        this.o.log?.(`webhooks: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(10, Math.min(next, 1000)));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Sends the head delivery of every subscription that is due; returns ms until the next is due. */
  private async sendDue(): Promise<number> {
    const res = await this.o.db.execute(sql`
      SELECT DISTINCT ON (d.subscription_id) d.id, d.subscription_id, d.body, d.attempts, extract(epoch from d.next_attempt_at)::float8 * 1000 AS due, s.url, s.secret, s.consecutive_failures
        FROM webhook_delivery d JOIN webhook_subscription s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND s.disabled_at IS NULL AND s.chain_id = ${this.o.chainId}
       ORDER BY d.subscription_id, d.block_number, d.log_index, d.seq`);
    const now = Date.now();
    let next = 1000;
    const due = (res.rows as (DueDelivery & { due: number })[]).filter((r) => {
      const wait = Number(r.due) - now;
      if (wait > 0) next = Math.min(next, wait);
      return wait <= 0;
    });
    await Promise.all(due.map((d) => this.attempt(d)));
    return due.length > 0 ? 0 : next;
  }

  private async attempt(d: DueDelivery): Promise<void> {
    const attempt = Number(d.attempts) + 1;
    const started = Date.now();
    const r = await post(d.url, d.body, d.secret, d.id, attempt, this.o.timeoutMs, this.o.maxResponseBytes ?? 64 * 1024);
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const db = this.o.db;
    await db.transaction(async (tx) => {
      await tx.execute(
        sql`INSERT INTO webhook_attempt (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (${d.id}, ${attempt}, ${new Date(started).toISOString()}, ${r.status}, ${r.error}, ${Date.now() - started})`,
      );
      if (ok) {
        await tx.execute(sql`UPDATE webhook_delivery SET status = 'delivered', attempts = ${attempt}, delivered_at = now() WHERE id = ${d.id}`);
        await tx.execute(sql`UPDATE webhook_subscription SET consecutive_failures = 0 WHERE id = ${d.subscription_id}`);
        return;
      }
      const failures = Number(d.consecutive_failures) + 1;
      const delay = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
      const jittered = delay / 2 + Math.random() * (delay / 2);
      await tx.execute(
        sql`UPDATE webhook_delivery SET attempts = ${attempt}, next_attempt_at = ${new Date(Date.now() + jittered).toISOString()} WHERE id = ${d.id}`,
      );
      await tx.execute(sql`UPDATE webhook_subscription SET consecutive_failures = ${failures} WHERE id = ${d.subscription_id}`);
      if (failures >= this.o.maxFailures) {
        const reason = `${failures} consecutive failed deliveries; last: ${r.status !== null ? `HTTP ${r.status}` : r.error}`;
        await tx.execute(sql`UPDATE webhook_subscription SET disabled_at = now(), disabled_reason = ${reason} WHERE id = ${d.subscription_id}`);
        this.o.log?.(`webhook ${d.subscription_id} disabled: ${reason}`);
      }
    });
  }
}

function post(
  url: string,
  body: string,
  secret: string,
  id: string,
  attempt: number,
  timeoutMs: number,
  maxResponseBytes: number,
): Promise<{ status: number | null; error: string | null }> {
  const ts = Math.floor(Date.now() / 1000);
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, error: error?.slice(0, 500) ?? null });
    };
    const req = lib.request(u, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'modeldao-webhooks/1',
        'modeldao-webhook-id': id,
        'modeldao-webhook-attempt': String(attempt),
        'modeldao-webhook-timestamp': String(ts),
        'modeldao-signature': signWebhook(secret, body, ts),
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(null, `timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    req.on('response', (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > maxResponseBytes) {
          res.destroy();
          done(res.statusCode ?? null, null); // the status is known; the rest of the body is not wanted
        }
      });
      res.on('end', () => done(res.statusCode ?? null, null));
      res.on('error', () => done(res.statusCode ?? null, null));
    });
    req.on('error', (err) => done(null, err.message));
    req.end(body);
  });
}

/** For tests and operators: a subscription's state and its delivery log. */
export async function webhookStatus(db: Db, id: string) {
  const s = (await db.execute(sql`SELECT id, url, disabled_at, disabled_reason, consecutive_failures FROM webhook_subscription WHERE id = ${id}`)).rows[0];
  const deliveries = (
    await db.execute(sql`SELECT id, status, attempts FROM webhook_delivery WHERE subscription_id = ${id} ORDER BY block_number, log_index, seq`)
  ).rows;
  const attempts = (
    await db.execute(
      sql`SELECT a.delivery_id, a.attempt, a.status_code, a.error FROM webhook_attempt a JOIN webhook_delivery d ON d.id = a.delivery_id WHERE d.subscription_id = ${id} ORDER BY a.at`,
    )
  ).rows;
  return { subscription: s, deliveries, attempts };
}
