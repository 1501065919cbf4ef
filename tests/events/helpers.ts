// Shared pieces of the event tests: a server on a test chain, an SSE client that records what it got.
import http from 'node:http';
import path from 'node:path';
import type { RunningServer } from '../../lib/server/main.ts';
import { startTestServer } from '../helpers/test-server.ts';
import { SseParser, type ServerEvent } from '../../lib/sdk/events.ts';
import type { TestChain } from '../consumer/fixtures.ts';

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The test server (tests/helpers/test-server.ts) with heartbeats every 500 ms. */
export function serverOn(chain: TestChain, dataDir: string, extra: Record<string, string> = {}): Promise<RunningServer> {
  return startTestServer(chain, dataDir, { EVENTS_HEARTBEAT_MS: '500', ...extra });
}

export interface Collector {
  events: ServerEvent[];
  /** Parsed data of the typed events (not comments). */
  data(): any[];
  comments: number;
  status: number;
  ended: boolean;
  res: http.IncomingMessage;
  close(): void;
}

/** Connects to /api/events and records every event; `query` e.g. "model=x&kind=version". */
export function collect(baseUrl: string, opts: { query?: string; lastEventId?: string } = {}): Promise<Collector> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${baseUrl}/api/events${opts.query ? `?${opts.query}` : ''}`,
      { headers: opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {} },
      (res) => {
        const parser = new SseParser();
        const c: Collector = {
          events: [],
          data: () => c.events.map((e) => JSON.parse(e.data)),
          comments: 0,
          status: res.statusCode ?? 0,
          ended: false,
          res,
          close: () => req.destroy(),
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          c.comments += (chunk.match(/^:/gm) ?? []).length;
          c.events.push(...parser.push(chunk));
        });
        res.on('close', () => (c.ended = true));
        res.on('error', () => (c.ended = true));
        resolve(c);
      },
    );
    req.on('error', reject);
  });
}

export function dataDirIn(work: string, name = 'data'): string {
  return path.join(work, name);
}
