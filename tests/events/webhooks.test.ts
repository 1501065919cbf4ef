// Webhooks against receivers this test runs on loopback, with the real server and anvil: signatures
// (right secret verifies, another fails, replay window), retries on 500 and timeouts with growing
// delays and a stable idempotency id, order per subscription, auto-disable with the reason in the
// delivery log, and kill -9 of the server with deliveries pending: all arrive after the restart.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from 'viem';
import { webhookStatus } from '../../lib/events/webhooks.ts';
import { verifyWebhookSignature } from '../../lib/sdk/webhooks.ts';
import type { RunningServer } from '../../lib/server/main.ts';
import { startServerProcess, type UploadChain } from '../helpers/server-process.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import { asTimelock, makeVersion, modelIdOf, publish, startTestChain, tmpDir, type TestChain } from '../consumer/fixtures.ts';
import { serverOn, waitFor } from './helpers.ts';

interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver: `answer` decides per request (status code, or 'hang' to never answer). */
async function receiver(answer: (n: number, r: Received) => number | 'hang') {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r = { at: Date.now(), headers: req.headers, body };
      got.push(r);
      const a = answer(got.length, r);
      if (a === 'hang') return;
      res.writeHead(a, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

let chain: TestChain;
let work: string;

beforeAll(async () => {
  work = tmpDir('modeldao-webhooks-');
  chain = await startTestChain();
}, 180_000);

afterAll(async () => {
  await chain?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('webhooks', () => {
  it('signs, retries with growing delays and a stable id, keeps chain order, and disables a dead endpoint with the reason', async () => {
    const good = await receiver(() => 200);
    const flakyPlan: (number | 'hang')[] = [500, 500, 'hang', 200];
    const flaky = await receiver((n) => flakyPlan[n - 1] ?? 200);
    const dead = await receiver(() => 500);
    const secret = 'whsec_good_0123456789abcdef';
    const file = path.join(work, 'webhooks.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        { id: 'good', url: good.url, secret, models: ['hook-lm'] },
        { id: 'flaky', url: flaky.url, secret: 'whsec_flaky_0123456789abcdef', models: ['hook-lm'], kinds: ['version.published', 'version.current'] },
        { id: 'dead', url: dead.url, secret: 'whsec_dead_0123456789abcdef' },
      ]),
    );
    let server: RunningServer | null = null;
    try {
      server = await serverOn(chain, path.join(work, 'data'), {
        WEBHOOKS_FILE: file,
        WEBHOOK_RETRY_BASE_MS: '300',
        WEBHOOK_RETRY_MAX_MS: '5000',
        WEBHOOK_TIMEOUT_MS: '700',
        WEBHOOK_MAX_FAILURES: '4',
      });
      await server.waitForIndex();
      await publish(chain, 'hook-lm', makeVersion('hook-lm', { 'model.bin': 100 }));

      // signature, body, order
      await waitFor(() => good.got.length >= 2, 'two deliveries to the good receiver');
      const bodies = good.got.map((r) => JSON.parse(r.body));
      expect(bodies.map((b) => b.type)).toEqual(['version.published', 'version.current']);
      for (const r of good.got) {
        expect(r.headers['content-type']).toBe('application/json');
        expect(verifyWebhookSignature(secret, r.body, r.headers['modeldao-signature'] as string)).toMatchObject({ ok: true });
        expect(verifyWebhookSignature('whsec_someone_else_0123456789', r.body, r.headers['modeldao-signature'] as string)).toEqual({
          ok: false,
          reason: 'bad_signature',
        });
        expect(verifyWebhookSignature(secret, r.body.replace('hook-lm', 'hook-ln'), r.headers['modeldao-signature'] as string)).toEqual({
          ok: false,
          reason: 'bad_signature',
        });
        expect(verifyWebhookSignature(secret, r.body, r.headers['modeldao-signature'] as string, { now: Math.floor(Date.now() / 1000) + 600 })).toEqual({
          ok: false,
          reason: 'stale',
        });
        expect(r.headers['modeldao-webhook-id']).toBe(`good:${JSON.parse(r.body).id}`);
        expect(Number(r.headers['modeldao-webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
      }

      // retries: 500, 500, timeout, then 200 — same id, growing gaps; the second event waits for the first
      await waitFor(() => flaky.got.length >= 5, 'the flaky receiver to get both events', 30_000);
      const first = flaky.got.slice(0, 4);
      expect(new Set(first.map((r) => r.headers['modeldao-webhook-id'])).size).toBe(1);
      expect(new Set(first.map((r) => r.body)).size).toBe(1);
      expect(first.map((r) => r.headers['modeldao-webhook-attempt'])).toEqual(['1', '2', '3', '4']);
      // Retry k waits a jittered delay in [d/2, d], d = 300 ms·2^(k-1); the third attempt first hangs
      // for the 700 ms timeout. So the gaps never fall below 150, 300 and 700 + 600 ms: the floor
      // doubles. (Adjacent windows touch, [150, 300] and [300, 600], so two gaps in a row can come out
      // in either order near 300 ms: comparing them directly failed once in CI-like runs.) 50 ms of
      // slack for the receiver seeing one request later than the next on a loaded machine.
      const gaps = first.slice(1).map((r, i) => r.at - first[i]!.at);
      expect(gaps[0]).toBeGreaterThanOrEqual(150 - 50);
      expect(gaps[1]).toBeGreaterThanOrEqual(300 - 50);
      expect(gaps[2]).toBeGreaterThanOrEqual(700 + 600 - 50);
      expect(gaps[2]).toBeGreaterThan(Math.max(gaps[0]!, gaps[1]!));
      expect(JSON.parse(flaky.got[4]!.body).type).toBe('version.current');
      expect(JSON.parse(first[0]!.body).type).toBe('version.published');
      const fs1 = await webhookStatus(server.db, 'flaky');
      expect((fs1.attempts as any[]).slice(0, 4).map((a) => [a.status_code, a.error === null ? null : 'error'])).toEqual([
        [500, null],
        [500, null],
        [null, 'error'],
        [200, null],
      ]);

      // auto-disable after 4 consecutive failures, reason kept
      await waitFor(async () => ((await webhookStatus(server!.db, 'dead')).subscription as any)?.disabled_at != null, 'dead to be disabled', 30_000);
      const ds = await webhookStatus(server.db, 'dead');
      expect((ds.subscription as any).disabled_reason).toMatch(/^4 consecutive failed deliveries; last: HTTP 500/);
      expect(ds.attempts).toHaveLength(4);
      expect(dead.got).toHaveLength(4);
    } finally {
      await server?.close();
      await Promise.all([good.close(), flaky.close(), dead.close()]);
    }
  }, 120_000);

  it('kill -9 with deliveries pending: after the restart every event arrives, in order, duplicates with the same id', async () => {
    let healthy = false;
    const rx = await receiver(() => (healthy ? 200 : 503));
    const file = path.join(work, 'webhooks-kill9.json');
    const secret = 'whsec_kill9_0123456789abcdef';
    fs.writeFileSync(file, JSON.stringify([{ id: 'k9', url: rx.url, secret, models: ['k9-lm'] }]));
    const dataDir = path.join(work, 'data-kill9');
    const upload = { anvil: { rpcUrl: chain.rpcUrl }, deployment: chain.deployment, deploymentFile: chain.deploymentFile } as unknown as UploadChain;
    const env = { WEBHOOKS_FILE: file, WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '400', WEBHOOK_MAX_FAILURES: '1000', INDEXER_POLL_MS: '100' };
    let server = await startServerProcess({ chain: upload, dataDir, env });
    try {
      await publish(chain, 'k9-lm', makeVersion('k9-lm', { 'model.bin': 100 }));
      const modelId = await modelIdOf(chain, 'k9-lm');
      for (let i = 0; i < 4; i++) await asTimelock(chain, 'setAllowlist', [modelId, [DEV_ACCOUNTS[i]!.address as Address], true]);
      // 6 events: published, current, 4 allowlist changes; the first is being retried
      await waitFor(() => rx.got.length >= 3, 'retries of the first delivery', 30_000);
      await server.kill9();
      healthy = true;
      await asTimelock(chain, 'setAllowlist', [modelId, [DEV_ACCOUNTS[5].address as Address], true]); // while it is down
      server = await startServerProcess({ chain: upload, dataDir, env });
      await waitFor(() => new Set(rx.got.map((r) => r.headers['modeldao-webhook-id'])).size >= 7, 'all seven events', 60_000);
      const byId = new Map<string, Set<string>>();
      for (const r of rx.got) {
        const id = r.headers['modeldao-webhook-id'] as string;
        if (!byId.has(id)) byId.set(id, new Set());
        byId.get(id)!.add(r.body);
        expect(verifyWebhookSignature(secret, r.body, r.headers['modeldao-signature'] as string).ok).toBe(true);
      }
      // a duplicate is the same delivery: same id, same body
      for (const bodies of byId.values()) expect(bodies.size).toBe(1);
      const firstSeen = [...byId.keys()].map((id) => JSON.parse([...byId.get(id)!][0]!));
      expect(firstSeen.map((e) => e.type)).toEqual([
        'version.published',
        'version.current',
        'access.changed',
        'access.changed',
        'access.changed',
        'access.changed',
        'access.changed',
      ]);
      const positions = firstSeen.map((e) => e.blockNumber * 1e6 + e.logIndex);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    } finally {
      await server.stop();
      await rx.close();
    }
  }, 180_000);
});
