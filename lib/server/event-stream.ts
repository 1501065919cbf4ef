// Server-Sent Events for GET /api/events. A client that sends Last-Event-ID (or ?lastEventId=) is
// first replayed from the event tables up to where the follower stands, then switched to the live
// feed; events arriving meanwhile wait in a bounded queue. A client that does not read (more than
// maxBufferedBytes still unread when the next batch comes, or its catch-up queue overflows) is
// disconnected rather than buffered without bound: it reconnects with its Last-Event-ID and loses
// nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../../db/client.ts';
import { HttpError } from './http.ts';
import {
  EVENT_TYPES,
  canonicalBlockHash,
  matches,
  parseEventId,
  readRawEvents,
  type Correction,
  type EventFilter,
  type Position,
  type StreamEvent,
} from '../events/derive.ts';
import type { EventHub, HubSubscriber } from '../events/hub.ts';
import { isSlug } from '../slug.ts';

export interface SseOptions {
  heartbeatMs: number;
  /** Bytes a client may leave unread in its socket buffer before it is dropped. */
  maxBufferedBytes: number;
  /** Live events held for a client still replaying history. */
  maxQueuedEvents: number;
  reorgWindow: number;
  deployBlock: number;
}

const PAGE = 1000;

export function parseFilter(url: URL): EventFilter {
  const f: EventFilter = {};
  const list = (name: string) =>
    url.searchParams
      .getAll(name)
      .flatMap((v) => v.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
  const models = list('model');
  for (const m of models) if (!isSlug(m)) throw new HttpError(400, 'invalid_model', `model "${m.slice(0, 80)}" is not a model slug`);
  if (models.length > 0) f.models = new Set(models);
  const kinds = list('kind');
  const types = new Set<string>();
  for (const k of kinds) {
    // `proposal` or `proposal.*` selects a family
    const family = k.replace(/\.\*$/, '');
    const hit = EVENT_TYPES.filter((t) => t === k || t.startsWith(`${family}.`));
    if (hit.length === 0) throw new HttpError(400, 'invalid_kind', `unknown event kind "${k.slice(0, 80)}"; known: ${EVENT_TYPES.join(', ')}`);
    hit.forEach((t) => types.add(t));
  }
  if (types.size > 0) f.types = types;
  const proposal = url.searchParams.get('proposal');
  if (proposal !== null) {
    if (!/^\d{1,78}$/.test(proposal)) throw new HttpError(400, 'invalid_proposal', 'proposal must be a decimal proposal id');
    f.proposalId = proposal;
  }
  return f;
}

export function formatEvent(e: StreamEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

function formatCorrection(c: Correction): string {
  // No id: the client's Last-Event-ID keeps pointing at the removed position, which a resume
  // recognises as off the canonical chain.
  return `event: correction\ndata: ${JSON.stringify(c)}\n\n`;
}

class Client implements HubSubscriber {
  private queue: (StreamEvent | Correction)[] | null = [];
  closed = false;

  constructor(
    private res: ServerResponse,
    private filter: EventFilter,
    private o: SseOptions,
  ) {}

  private write(chunk: string): boolean {
    if (this.closed) return false;
    return this.res.write(chunk);
  }

  /**
   * Checked before each live batch, not per write: a reader that keeps up may see one batch
   * (one indexer step) in its buffer at once; one that still has maxBufferedBytes unread from
   * earlier batches is not reading and is cut off. Per client: at most the limit plus one batch.
   */
  private tooSlow(): boolean {
    if (this.res.writableLength <= this.o.maxBufferedBytes) return false;
    this.drop('slow client');
    return true;
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  drop(_why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.res.destroy();
  }

  heartbeat(): void {
    if (this.queue || this.tooSlow()) return;
    this.write(`: heartbeat ${Date.now()}\n\n`);
  }

  onEvents(events: StreamEvent[]): void {
    if (this.queue) {
      this.queue.push(...events);
      if (this.queue.length > this.o.maxQueuedEvents) this.drop('queue overflow');
      return;
    }
    if (this.tooSlow()) return;
    for (const e of events) if (matches(this.filter, e)) this.write(formatEvent(e));
  }

  onCorrections(cs: Correction[]): void {
    if (this.queue) {
      this.queue.push(...cs);
      return;
    }
    if (this.tooSlow()) return;
    for (const c of cs) if (matches(this.filter, c.removed)) this.write(formatCorrection(c));
  }

  /** Replays history (position after `from`, up to block `upTo`), then goes live with what queued meanwhile. */
  async catchUp(db: Db, hub: EventHub, from: Position | null, upTo: number): Promise<void> {
    let after = from;
    while (after) {
      const rows = await readRawEvents(db, hub.deriver.chainId, after, upTo, PAGE);
      for (const e of await hub.deriver.derive(rows)) {
        if (this.closed) return;
        if (matches(this.filter, e) && !this.write(formatEvent(e))) await new Promise<void>((r) => this.res.once('drain', r).once('close', r));
      }
      const last = rows.length < PAGE ? undefined : rows[rows.length - 1];
      after = last ? { block: last.blockNumber, log: last.logIndex } : null;
    }
    const queued = this.queue ?? [];
    this.queue = null;
    for (const q of queued) {
      if (q.type === 'correction') this.onCorrections([q as Correction]);
      else this.onEvents([q as StreamEvent]);
    }
  }
}

export class EventStreamService {
  private clients = new Set<Client>();
  private timer: NodeJS.Timeout;

  constructor(
    private db: Db,
    private hub: EventHub,
    private o: SseOptions,
  ) {
    this.timer = setInterval(() => {
      for (const c of this.clients) c.heartbeat();
    }, o.heartbeatMs);
    this.timer.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Connected clients and the bytes written to them that they have not read yet (largest, total). */
  stats(): { clients: number; bufferedBytes: number; maxBufferedBytes: number } {
    let total = 0;
    let max = 0;
    for (const c of this.clients) {
      total += c.buffered;
      max = Math.max(max, c.buffered);
    }
    return { clients: this.clients.size, bufferedBytes: total, maxBufferedBytes: max };
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients) c.drop('shutdown');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const filter = parseFilter(url);
    const lastId = (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined;
    let from: Position | null = null;
    let reorgNotice: Record<string, unknown> | null = null;
    if (lastId !== undefined && lastId !== '') {
      const p = parseEventId(lastId);
      if (!p) throw new HttpError(400, 'invalid_last_event_id', 'Last-Event-ID must be an id this stream sent (<block>-<logIndex>-<hash8>)');
      from = { block: p.block, log: p.log };
      const hash = await canonicalBlockHash(this.db, this.hub.deriver.chainId, p.block);
      const processed = this.hub.processedTo ?? -1;
      if ((hash !== null && hash.slice(2, 10).toLowerCase() !== p.hash8) || (hash === null && p.block > processed)) {
        // The client's last event is no longer on the chain: everything after the fork must be
        // re-sent. Where the fork was is unknown here, so replay the whole reorg window.
        const replayFrom = Math.max(this.o.deployBlock, p.block - this.o.reorgWindow);
        from = { block: replayFrom - 1, log: 2_147_483_647 };
        reorgNotice = {
          type: 'reorg',
          lastEventId: lastId,
          replayFromBlock: replayFrom,
          message: 'your last event was removed by a chain reorganisation; discard what you received from this block on and apply the events that follow',
        };
      }
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const client = new Client(res, filter, this.o);
    res.write(`retry: 2000\n: connected; indexed up to block ${this.hub.processedTo ?? 'none'}\n\n`);
    if (reorgNotice) res.write(`event: reorg\ndata: ${JSON.stringify(reorgNotice)}\n\n`);
    this.clients.add(client);
    const unsubscribe = this.hub.subscribe(client);
    const cleanup = () => {
      client.closed = true;
      unsubscribe();
      this.clients.delete(client);
    };
    res.on('close', cleanup);
    const upTo = this.hub.processedTo;
    try {
      await client.catchUp(this.db, this.hub, upTo === null ? null : from, upTo ?? -1);
    } catch (err) {
      client.drop(err instanceof Error ? err.message : 'catch-up failed');
    }
  }
}
