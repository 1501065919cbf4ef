// The plain server (lib/server/main.ts) decides about undecodable page URLs before Next sees them,
// so dev and production answer alike: Next's dev server says 400 but its production server threw
// and answered 500 (#18). Next is replaced here by a handler that records what reached it; the real
// Next (dev mode) is covered by tests/e2e/hardening.test.ts HARD-001.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../lib/server/main.ts';
import { startTestServer } from '../helpers/test-server.ts';
import { startTestChain, tmpDir, type TestChain } from '../consumer/fixtures.ts';

let chain: TestChain;
let server: RunningServer;
let work: string;
const reachedNext: string[] = [];

beforeAll(async () => {
  work = tmpDir();
  chain = await startTestChain();
  const next = Promise.resolve({
    handle: async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      reachedNext.push(req.url ?? '');
      // What Next's production server does with such a path: decodeURIComponent throws.
      decodeURIComponent(req.url ?? '');
      res.end('page');
    },
    close: async () => {},
  });
  server = await startTestServer(chain, path.join(work, 'data'), {}, { withNext: true, next });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await chain?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('page URLs that cannot be decoded', () => {
  it.each(['/models/%ff', '/proposals/%', '/models/%E0%A4%A', '/%c0%af', '/models/a%2'])('%s gets the 400 page and never reaches Next', async (url) => {
    const res = await fetch(`${server.url}${url}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toMatch(/<h1>400 — this address cannot be read<\/h1>/);
    expect(reachedNext).not.toContain(url);
  });

  it('HEAD gets the status without a body; well-formed URLs (and a malformed query) still reach Next', async () => {
    const head = await fetch(`${server.url}/models/%ff`, { method: 'HEAD' });
    expect(head.status).toBe(400);
    expect(await head.text()).toBe('');
    for (const ok of ['/models/tiny-lm', '/models/%C3%A9t%C3%A9', '/proposals?q=%25']) {
      expect((await fetch(`${server.url}${ok}`)).status, ok).toBe(200);
      expect(reachedNext).toContain(ok);
    }
  });

  it('the API keeps its JSON errors for the same inputs', async () => {
    const res = await fetch(`${server.url}/api/manifests/%ff`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_digest');
  });
});
