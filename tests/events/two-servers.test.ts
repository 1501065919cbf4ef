// Two app servers on one real PostgreSQL (#15 "across app servers"): A indexes (the writer), B waits
// in standby and follows. An event stream resumed with Last-Event-ID on B continues exactly where A
// left off, and webhooks are delivered once — by the writer only, while both run, and by B once it
// took over from A — to a receiver the test runs, which checks every signature.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import type { Address } from 'viem';
import type { RunningServer } from '../../lib/server/main.ts';
import { verifyWebhookSignature } from '../../lib/sdk/webhooks.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { asTimelock, makeVersion, modelIdOf, publish, startTestChain, tmpDir, type TestChain } from '../consumer/fixtures.ts';
import { collect, serverOn, waitFor, type Collector } from './helpers.ts';

const SECRET = 'two-servers-secret-0123456789';

let chain: TestChain;
let pg: TestPostgres;
let work: string;
let a: RunningServer | undefined;
let b: RunningServer | undefined;
let receiver: http.Server;
/** Every POST the receiver got: the idempotency id, the event id, and whether the signature verified. */
const received: { webhookId: string; eventId: string; verified: boolean }[] = [];
const open: Collector[] = [];
let modelId: bigint;

async function allow(n: number, from: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await asTimelock(chain, 'setAllowlist', [modelId, [`0x${(from + i).toString(16).padStart(40, '0')}` as Address], true]);
  }
}

beforeAll(async () => {
  work = tmpDir('modeldao-two-servers-');
  [chain, pg] = await Promise.all([startTestChain(), startPostgres()]);
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let verified = false;
      try {
        verified = verifyWebhookSignature(SECRET, raw, req.headers['modeldao-signature'] as string).ok;
      } catch {
        verified = false;
      }
      received.push({ webhookId: String(req.headers['modeldao-webhook-id']), eventId: JSON.parse(raw.toString('utf8')).id, verified });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const hooks = path.join(work, 'webhooks.json');
  fs.writeFileSync(
    hooks,
    JSON.stringify([{ id: 'ops', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: SECRET, kinds: ['access.changed'] }]),
  );
  await publish(chain, 'cluster-lm', makeVersion('cluster-lm', { 'model.bin': 10 }));
  modelId = await modelIdOf(chain, 'cluster-lm');
  const extra = { DATABASE_URL: pg.url, WEBHOOKS_FILE: hooks, WEBHOOK_RETRY_BASE_MS: '100' };
  a = await serverOn(chain, path.join(work, 'a'), extra);
  await a.waitForIndex();
  await waitFor(() => a!.indexer.status().role === 'writer', 'A to be the writer');
  b = await serverOn(chain, path.join(work, 'b'), extra);
  await waitFor(() => b!.indexer.status().role === 'standby', 'B in standby');
}, 240_000);

afterAll(async () => {
  for (const c of open) c.close();
  await a?.close();
  await b?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  await chain?.stop();
  await pg?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('two app servers on one PostgreSQL', () => {
  it('Last-Event-ID from server A resumes on server B exactly where A left off, across A going away; each webhook is delivered once', async () => {
    const onA = await collect(a!.url, { query: 'kind=access.changed' });
    const onB = await collect(b!.url, { query: 'kind=access.changed' });
    open.push(onA, onB);
    await allow(4, 1);
    await waitFor(() => onA.events.length === 4, 'four events at A');
    // the standby follows the writer's index: the same events, the same ids
    await waitFor(() => onB.events.length === 4, 'four events at B (standby)');
    expect(onB.events.map((e) => e.id)).toEqual(onA.events.map((e) => e.id));
    await waitFor(() => received.length >= 4, 'four webhooks');

    // the client reads two events at A, then A goes away
    const leftAt = onA.events[1]!.id!;
    onA.close();
    await a!.close();
    a = undefined;
    await allow(3, 100); // the chain moves on while B takes over the index
    await waitFor(() => b!.indexer.status().role === 'writer', 'B to take over the index', 60_000);
    await b!.waitForIndex();
    const resumed = await collect(b!.url, { lastEventId: leftAt, query: 'kind=access.changed' });
    open.push(resumed);
    await waitFor(() => resumed.events.length >= 5, 'the resumed stream on B');
    await waitFor(() => onB.events.length === 7, 'seven events at B');
    // exactly the events after the one it had: no gap, no repeat
    expect(resumed.events.map((e) => e.id)).toEqual(onB.events.slice(2).map((e) => e.id));
    const accounts = resumed.data().map((d) => BigInt(d.data.account));
    expect(accounts).toEqual([3n, 4n, 100n, 101n, 102n]);

    // webhooks: every event once (one delivery, one POST), signed, in chain order
    await waitFor(() => received.length >= 7, 'seven webhooks');
    const ids = onB.events.map((e) => e.id);
    expect(received.map((r) => r.eventId)).toEqual(ids);
    expect(new Set(received.map((r) => r.webhookId)).size).toBe(7);
    expect(received.every((r) => r.verified)).toBe(true);
    // and no late duplicate from either server: the log records one attempt each, all delivered
    const deliveryLog = async () =>
      (
        await b!.db.execute(
          sql`SELECT d.event_id, d.status, count(a.*)::int AS attempts FROM webhook_delivery d LEFT JOIN webhook_attempt a ON a.delivery_id = d.id GROUP BY 1, 2`,
        )
      ).rows as { event_id: string; status: string; attempts: number }[];
    await waitFor(async () => (await deliveryLog()).filter((r) => r.status === 'delivered').length === 7, 'the delivery log');
    const rows = await deliveryLog();
    expect(rows).toHaveLength(7);
    expect(rows.map((r) => r.attempts)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(received).toHaveLength(7);
  }, 240_000);
});
