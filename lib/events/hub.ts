// The event follower: after every move of the indexer's checkpoint (its onAdvance hook, which also
// fires on a standby server that follows another writer) it reads the new rows of the append-only
// event tables in chain order, derives typed events and hands them to subscribers (SSE clients).
// It remembers what it sent for the reorg window: a sent event whose row is gone (the indexer
// deletes rows above a fork point) is announced as a correction before the replacement events.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { Deriver, readRawEvents, type Correction, type Position, type RawEvent, type StreamEvent } from './derive.ts';

export interface HubSubscriber {
  onEvents(events: StreamEvent[]): void;
  onCorrections(corrections: Correction[]): void;
}

export interface EventHubOptions {
  db: Db;
  chainId: number;
  registry: string;
  /** Blocks of sent events remembered to detect removals (the indexer's reorg window). */
  reorgWindow: number;
  log?: (msg: string) => void;
}

const PAGE = 2000;
/** Above every log index (an int4 column). */
const MAX_LOG = 2_147_483_647;

async function checkpointBlock(db: Db, chainId: number): Promise<number | null> {
  const res = await db.execute(sql`SELECT block_number::float8 AS b FROM indexer_checkpoint WHERE chain_id = ${chainId}`);
  const r = res.rows[0] as { b: number } | undefined;
  return r ? Number(r.b) : null;
}

export class EventHub {
  readonly deriver: Deriver;
  /** Events are read up to and including this block (null before the first tick). */
  processedTo: number | null = null;
  private recent = new Map<string, StreamEvent>(); // `${block}-${log}` → sent event
  private seenRaw = new Map<string, string>(); // `${block}-${log}` → block hash of every row read (sent or folded)
  private subscribers = new Set<HubSubscriber>();
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private o: EventHubOptions) {
    this.deriver = new Deriver(o.db, o.chainId, o.registry.toLowerCase());
  }

  /** Starts at the current checkpoint: history is for clients that resume (read from the tables). */
  async start(): Promise<void> {
    this.processedTo = await checkpointBlock(this.o.db, this.o.chainId);
    if (this.processedTo !== null) {
      // remember the window's events so a reorg right after a restart is still corrected
      const rows = await this.readRawWindow(Math.max(-1, this.processedTo - this.o.reorgWindow), this.processedTo);
      for (const r of rows) this.seenRaw.set(`${r.blockNumber}-${r.logIndex}`, r.blockHash);
      for (const e of await this.deriver.derive(rows)) this.recent.set(`${e.blockNumber}-${e.logIndex}`, e);
    }
  }

  subscribe(s: HubSubscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Asks for a read of new rows; calls made while one runs fold into one more run. Never throws. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.tick();
        } catch (err) {
          this.o.log?.(`event follower: ${err instanceof Error ? err.message : String(err)}`);
        }
      } while (this.again && !this.stopped);
      this.running = null;
    })();
    return this.running;
  }

  stop(): void {
    this.stopped = true;
  }

  private async tick(): Promise<void> {
    const cp = await checkpointBlock(this.o.db, this.o.chainId);
    if (cp === null) return;
    if (this.processedTo === null) {
      this.processedTo = cp;
      return;
    }
    // Re-read the reorg window as well as what is new: a row we sent that is gone was reorged out.
    const low = Math.max(-1, Math.min(this.processedTo, cp) - this.o.reorgWindow);
    const rows = await this.readRawWindow(low, cp);
    const present = new Map(rows.map((r) => [`${r.blockNumber}-${r.logIndex}`, r.blockHash]));
    const corrections: Correction[] = [];
    for (const [key, e] of this.recent) {
      if (e.blockNumber <= low) continue;
      if (present.get(key) !== e.blockHash) {
        corrections.push({ type: 'correction', reason: 'reorg', removed: e });
        this.recent.delete(key);
      }
    }
    if (corrections.length > 0) this.deriver.forget();
    for (const [key, hash] of this.seenRaw) {
      const b = Number(key.slice(0, key.indexOf('-')));
      if (b > low && present.get(key) !== hash) this.seenRaw.delete(key);
    }
    // New rows: above what was processed, or (after a reorg) re-indexed inside the window.
    const fresh = rows.filter((r) => this.seenRaw.get(`${r.blockNumber}-${r.logIndex}`) !== r.blockHash);
    const events = await this.deriver.derive(fresh);
    for (const r of fresh) this.seenRaw.set(`${r.blockNumber}-${r.logIndex}`, r.blockHash);
    for (const e of events) this.recent.set(`${e.blockNumber}-${e.logIndex}`, e);
    const floor = cp - this.o.reorgWindow;
    for (const [key, e] of this.recent) if (e.blockNumber <= floor) this.recent.delete(key);
    for (const key of this.seenRaw.keys()) if (Number(key.slice(0, key.indexOf('-'))) <= floor) this.seenRaw.delete(key);
    this.processedTo = cp;
    if (corrections.length > 0) for (const s of this.subscribers) s.onCorrections(corrections);
    if (events.length > 0) for (const s of this.subscribers) s.onEvents(events);
  }

  private async readRawWindow(low: number, toBlock: number): Promise<RawEvent[]> {
    const out: RawEvent[] = [];
    let after: Position = { block: low, log: MAX_LOG };
    for (;;) {
      const rows = await readRawEvents(this.o.db, this.o.chainId, after, toBlock, PAGE);
      out.push(...rows);
      if (rows.length < PAGE) return out;
      const last = rows[rows.length - 1]!; // rows.length === PAGE here
      after = { block: last.blockNumber, log: last.logIndex };
    }
  }
}
