// Chain events → database. How it works:
// - Backfill from deployment.deployBlock with one eth_getLogs per block range for the four contracts;
//   ranges adapt to the RPC (source.ts). Range k+1 is fetched while range k is written.
// - Each range is written in one transaction with its derived state, recent block hashes and the
//   checkpoint (store.ts, reducer.ts): a crash leaves the database at a consistent checkpoint.
// - `confirmations`: how far behind the head to index (0 on anvil). `reorgWindow` (default 64): how
//   deep a reorg the indexer repairs by itself — it walks the stored block hashes back to the common
//   ancestor, deletes what came after, rebuilds the derived tables from the remaining events and
//   re-indexes. A deeper reorg stops the indexer with ReorgTooDeepError (status().fatalError).
// - Transient RPC/database errors are retried with backoff; the loop never exits on them.
// - One writer per database (lock.ts): PostgreSQL advisory lock; PGlite is single-process. Each
//   range's checkpoint update is also a compare-and-set on the previous (block, hash) (store.ts), so
//   a writer that lost its lock without noticing can never apply a range twice.
import type { Database } from '../../db/client.ts';
import type { ContractKind } from './abi.ts';
import type { Deployment } from '../contracts/deployment.ts';
import { ChainSource, ReorgDetected, StoppedError, errorText, type FetchedRange, type RpcClient } from './source.ts';
import { CheckpointConflictError, loadCheckpoint, recentBlocks, rollbackTo, writeRange, type Checkpoint } from './store.ts';
import type { BatchSummary } from './reducer.ts';
import { DEFAULT_QUORUM_NUMERATOR, recordDeadlines } from './deadlines.ts';
import { acquireWriterLock, type WriterLock } from './lock.ts';
import { reportPhases, timed } from './profile.ts';

export { CheckpointConflictError, dumpIndex, type IndexDump } from './store.ts';
export type { BatchSummary } from './reducer.ts';

/** Blocks behind head treated as final enough to index, per chain id (INDEXER_CONFIRMATIONS overrides). */
export const DEFAULT_CONFIRMATIONS: Record<number, number> = {
  31337: 0, // anvil
  1: 12, // mainnet: ~2.5 min; finalized is ~64 blocks
  11155111: 6, // sepolia
  10: 10, // optimism
  8453: 10, // base
  42161: 20, // arbitrum one (fast blocks)
};
export const DEFAULT_REORG_WINDOW = 64;
/** Events per database transaction when a fetched range is dense. */
const MAX_EVENTS_PER_TX = 10_000;

export function defaultConfirmations(chainId: number): number {
  return DEFAULT_CONFIRMATIONS[chainId] ?? 12;
}

export class ReorgTooDeepError extends Error {}

export interface IndexerOptions {
  db: Database;
  /** viem PublicClient (or anything with request()) */
  publicClient: RpcClient;
  deployment: Deployment;
  env?: { INDEXER_CONFIRMATIONS?: number; INDEXER_POLL_MS?: number; INDEXER_REORG_WINDOW?: number; INDEXER_INITIAL_RANGE?: number; INDEXER_MAX_RANGE?: number };
  confirmations?: number;
  /** Deepest reorg the indexer repairs by itself; deeper stops it with ReorgTooDeepError. */
  reorgWindow?: number;
  pollMs?: number;
  /**
   * The unit of every retry wait (default 100 ms): a failed RPC call waits backoffMs·2^attempt (≤ 10 s),
   * a refused eth_getLogs 2–5·backoffMs, a failed step 2.5·backoffMs·2^failures (≤ 30 s).
   */
  backoffMs?: number;
  initialRange?: number;
  maxRange?: number;
  log?: (msg: string) => void;
}

export interface AdvanceEvent {
  chainId: number;
  fromBlock: number;
  toBlock: number;
  summary: BatchSummary;
  /** true when this advance follows a rollback (derived state was rebuilt) */
  reorg: boolean;
}
export type AdvanceListener = (e: AdvanceEvent) => void | Promise<void>;

export interface IndexerStatus {
  chainId: number;
  /** 'standby' while another process holds the writer lock */
  role: 'starting' | 'writer' | 'standby' | 'stopped' | 'failed';
  indexedBlock: number | null;
  headBlock: number | null;
  lag: number | null;
  lastError: string | null;
  /** set when the indexer stopped for good (e.g. a reorg deeper than the window) */
  fatalError: string | null;
  rangeSize: number;
}

export interface Indexer {
  stop(): Promise<void>;
  status(): IndexerStatus;
  onAdvance(cb: AdvanceListener): () => void;
  /** Looks at the chain (writer) or the writer's checkpoint (standby) now rather than at the next poll. */
  poke(): void;
  /** resolves when the loop ends (stop() or fatal error) */
  done: Promise<void>;
}

class Core {
  readonly chainId: number;
  readonly confirmations: number;
  readonly reorgWindow: number;
  readonly source: ChainSource;
  readonly listeners = new Set<AdvanceListener>();
  stopped = false;
  checkpoint: Checkpoint | null = null;
  pendingReorg = false;
  st: IndexerStatus;

  constructor(readonly o: IndexerOptions) {
    this.chainId = o.deployment.chainId;
    this.confirmations = o.confirmations ?? o.env?.INDEXER_CONFIRMATIONS ?? defaultConfirmations(this.chainId);
    this.reorgWindow = Math.max(1, o.reorgWindow ?? o.env?.INDEXER_REORG_WINDOW ?? DEFAULT_REORG_WINDOW);
    const c = o.deployment.contracts;
    this.source = new ChainSource({
      client: o.publicClient,
      contracts: new Map<string, ContractKind>([
        [c.ModelGovernor.toLowerCase(), 'governor'],
        [c.ModelToken.toLowerCase(), 'token'],
        [c.TimelockController.toLowerCase(), 'timelock'],
        [c.ModelRegistry.toLowerCase(), 'registry'],
      ]),
      transfersOf: c.TimelockController.toLowerCase(),
      initialRange: o.initialRange ?? o.env?.INDEXER_INITIAL_RANGE,
      maxRange: o.maxRange ?? o.env?.INDEXER_MAX_RANGE,
      backoffMs: o.backoffMs,
      log: o.log,
      isStopped: () => this.stopped,
      onError: (err) => (this.st.lastError = errorText(err).slice(0, 500)),
    });
    this.st = {
      chainId: this.chainId,
      role: 'starting',
      indexedBlock: null,
      headBlock: null,
      lag: null,
      lastError: null,
      fatalError: null,
      rangeSize: this.source.rangeSize,
    };
  }

  private updateStatus() {
    this.st.indexedBlock = this.checkpoint?.blockNumber ?? null;
    this.st.lag = this.st.headBlock !== null ? Math.max(0, this.st.headBlock - (this.checkpoint?.blockNumber ?? this.o.deployment.deployBlock - 1)) : null;
    this.st.rangeSize = this.source.rangeSize;
  }

  private async emit(e: AdvanceEvent) {
    for (const cb of this.listeners) {
      try {
        await cb(e);
      } catch (err) {
        this.o.log?.(`onAdvance listener failed: ${errorText(err)}`);
      }
    }
  }

  /** Walks back the stored recent blocks to the newest one still on the chain, and rolls back to it. */
  private async handleReorg(head: number): Promise<void> {
    const db = this.o.db.db;
    const cp = this.checkpoint!;
    const stored = await recentBlocks(db, this.chainId);
    let ancestor: { number: number; hash: string } | null = null;
    for (const b of stored) {
      if (b.number > head) continue;
      const h = await this.source.header(b.number);
      if (h.hash === b.hash) {
        ancestor = b;
        break;
      }
    }
    if (!ancestor && cp.blockNumber - (this.o.deployment.deployBlock - 1) <= this.reorgWindow && this.o.deployment.deployBlock > 0) {
      // nothing stored survived, but the whole index is younger than the window: start over
      const h = await this.source.header(this.o.deployment.deployBlock - 1);
      ancestor = { number: h.number, hash: h.hash };
    }
    if (!ancestor || cp.blockNumber - ancestor.number > this.reorgWindow) {
      throw new ReorgTooDeepError(
        `chain ${this.chainId}: reorg deeper than the ${this.reorgWindow}-block window below indexed block ${cp.blockNumber}` +
          (ancestor ? ` (common ancestor ${ancestor.number})` : ' (no common ancestor among the stored blocks)') +
          '. Refusing to guess: check the RPC endpoint, then re-index into an empty database or raise the window.',
      );
    }
    this.o.log?.(`reorg: rolling back from block ${cp.blockNumber} to common ancestor ${ancestor.number}`);
    await rollbackTo(this.o.db.db, this.chainId, cp, ancestor);
    this.checkpoint = { blockNumber: ancestor.number, blockHash: ancestor.hash };
    this.pendingReorg = true;
    this.updateStatus();
  }

  /**
   * Commits a fetched range. A dense range (one response, many events) is committed in slices that
   * end on block boundaries, so a transaction stays a bounded size and progress survives a crash.
   */
  private async write(r: FetchedRange): Promise<BatchSummary> {
    const total: BatchSummary = { events: 0, proposals: [], models: [], versionsChanged: false, delegatesChanged: false };
    let start = 0;
    while (start < r.events.length || start === 0) {
      let end = Math.min(r.events.length, start + MAX_EVENTS_PER_TX);
      // extend to the end of the block so a block is never split across transactions
      while (end < r.events.length && r.events[end]!.blockNumber === r.events[end - 1]!.blockNumber) end++;
      const last = end >= r.events.length;
      const slice = r.events.slice(start, end);
      const lastEvent = slice[slice.length - 1]!; // not last: the slice ends before the range does, so it is not empty
      const tip = last ? r.toHeader : { number: lastEvent.blockNumber, hash: lastEvent.blockHash, parentHash: '', timestamp: lastEvent.blockTime };
      const headers = r.headers.filter((h) => h.number <= tip.number && (last || h.number > (start === 0 ? -1 : r.events[start - 1]!.blockNumber)));
      const s = await timed('writeRange', () =>
        writeRange(this.o.db.db, this.chainId, this.checkpoint, slice, headers, tip, this.reorgWindow, (tx) =>
          recordDeadlines(tx, {
            chainId: this.chainId,
            governor: this.o.deployment.contracts.ModelGovernor,
            tip,
            header: (n) => this.source.header(n),
            fallbackQuorumNumerator: this.o.deployment.governance?.quorumNumerator ?? DEFAULT_QUORUM_NUMERATOR,
          }),
        ),
      );
      this.checkpoint = { blockNumber: tip.number, blockHash: tip.hash };
      total.events += s.events;
      total.proposals.push(...s.proposals);
      total.models.push(...s.models);
      total.versionsChanged ||= s.versionsChanged;
      total.delegatesChanged ||= s.delegatesChanged;
      if (last) break;
      start = end;
    }
    return total;
  }

  /**
   * In standby: reports where the writer's index stands (health, lag) and tells listeners when it
   * moved, so caches of a standby app server follow the index someone else writes.
   */
  async followWriter(): Promise<void> {
    const before = this.checkpoint;
    this.checkpoint = await loadCheckpoint(this.o.db.db, this.chainId);
    this.st.headBlock = await this.source.headNumber();
    this.updateStatus();
    const cp = this.checkpoint;
    if (cp && (before?.blockNumber !== cp.blockNumber || before?.blockHash !== cp.blockHash)) {
      // what the writer indexed is unknown here: listeners re-read everything
      const summary: BatchSummary = { events: 0, proposals: [], models: [], versionsChanged: true, delegatesChanged: true };
      await this.emit({
        chainId: this.chainId,
        fromBlock: (before?.blockNumber ?? this.o.deployment.deployBlock - 1) + 1,
        toBlock: cp.blockNumber,
        summary,
        reorg: before !== null && before.blockNumber >= cp.blockNumber,
      });
    }
  }

  /** Indexes up to the current safe head; returns true when it reached it. */
  async step(): Promise<boolean> {
    const head = await this.source.headNumber();
    this.st.headBlock = head;
    const safe = head - this.confirmations;
    this.checkpoint ??= await loadCheckpoint(this.o.db.db, this.chainId);
    const cp = this.checkpoint;
    if (cp) {
      // a chain now shorter than our checkpoint, or another block at its height: reorg
      if (head < cp.blockNumber || (await this.source.header(cp.blockNumber)).hash !== cp.blockHash) {
        await this.handleReorg(head);
        return false;
      }
    }
    this.updateStatus();
    const start = cp ? cp.blockNumber + 1 : this.o.deployment.deployBlock;
    if (start > safe) {
      if (this.pendingReorg) {
        this.pendingReorg = false;
        await this.emit({
          chainId: this.chainId,
          fromBlock: start,
          toBlock: start - 1,
          summary: { events: 0, proposals: [], models: [], versionsChanged: true, delegatesChanged: true },
          reorg: true,
        });
      }
      return true;
    }

    // fetch range k+1 while range k is written
    const windowStart = safe - this.reorgWindow + 1;
    let parent = cp ? { number: cp.blockNumber, hash: cp.blockHash } : null;
    let next: Promise<FetchedRange> | null = this.source.fetchRange(start, safe, parent, windowStart);
    while (next) {
      const r = await timed('wait for fetch', () => next!);
      next = null;
      parent = { number: r.to, hash: r.toHeader.hash };
      if (r.to < safe && !this.stopped) {
        next = this.source.fetchRange(r.to + 1, safe, parent, windowStart);
        next.catch(() => {}); // awaited on the next turn
      }
      const summary = await this.write(r);
      this.updateStatus();
      const reorg = this.pendingReorg;
      this.pendingReorg = false;
      if (reorg) {
        summary.versionsChanged = true;
        summary.delegatesChanged = true;
      }
      await this.emit({ chainId: this.chainId, fromBlock: r.from, toBlock: r.to, summary, reorg });
      if (this.stopped) {
        await next?.catch(() => {});
        return false;
      }
    }
    return true;
  }
}

async function runStep(core: Core): Promise<boolean> {
  try {
    return await core.step();
  } catch (err) {
    if (err instanceof ReorgDetected) {
      // caught by the next step's checkpoint check; re-read the checkpoint after the partial run
      core.checkpoint = null;
      return false;
    }
    throw err;
  }
}

/**
 * Indexes from the checkpoint (or the deploy block) up to the safe head once, then returns. No
 * writer lock: for scripts and tests that own the database.
 */
export async function indexOnce(o: IndexerOptions): Promise<IndexerStatus> {
  const core = new Core(o);
  for (let i = 0; i < 1000; i++) {
    try {
      if (await runStep(core)) break;
    } catch (err) {
      if (err instanceof StoppedError) break;
      if (err instanceof ReorgTooDeepError) throw err;
      if (err instanceof CheckpointConflictError) {
        // someone else indexed this range: nothing was written, continue from where they got
        o.log?.(err.message);
        core.checkpoint = null;
        continue;
      }
      // transient database/RPC trouble: a fresh attempt from the stored checkpoint
      o.log?.(`index step failed, retrying: ${errorText(err)}`);
      core.checkpoint = null;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  core.st.role = 'stopped';
  if (process.env.INDEXER_PROFILE === '1') {
    // once: to the caller's log when there is one (o.log?.() ?? console.error printed it twice)
    if (o.log) o.log(`phases: ${reportPhases()}`);
    else console.error(`phases: ${reportPhases()}`);
  }
  return { ...core.st };
}

/**
 * Runs the indexer until stop(): backfill, then follow the head every pollMs. Only one writer per
 * database: a second instance waits in standby and takes over when the first goes away.
 */
export function startIndexer(o: IndexerOptions): Indexer {
  const core = new Core(o);
  const pollMs = o.pollMs ?? o.env?.INDEXER_POLL_MS ?? 1000;
  let lock: WriterLock | null = null;
  let wake: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(() => ((wake = null), r()), ms);
      wake = () => (clearTimeout(t), (wake = null), r());
    });

  const done = (async () => {
    let failures = 0;
    while (!core.stopped) {
      try {
        if (!lock) {
          lock = await acquireWriterLock(o.db, core.chainId);
          if (!lock) {
            core.st.role = 'standby';
            await core.followWriter();
            await sleep(Math.max(pollMs, 2000));
            continue;
          }
          core.st.role = 'writer';
          core.checkpoint = null;
        }
        const caughtUp = await runStep(core);
        failures = 0;
        if (caughtUp) await sleep(pollMs);
      } catch (err) {
        if (err instanceof StoppedError) break;
        if (err instanceof ReorgTooDeepError) {
          core.st.fatalError = err.message;
          core.st.role = 'failed';
          o.log?.(`\n!!! INDEXER STOPPED: ${err.message}\n`);
          console.error(`[indexer] FATAL: ${err.message}`);
          break;
        }
        if (err instanceof CheckpointConflictError) {
          // Another process moved the checkpoint: this range was rolled back. Normally impossible under
          // the lock, so the lock is probably gone (connection dropped, lock forced away): check it.
          core.st.lastError = err.message;
          core.checkpoint = null;
          o.log?.(`indexer: ${err.message}`);
          if (lock && !(await lock.stillHeld())) {
            await lock.release().catch(() => {});
            lock = null;
          }
          continue;
        }
        failures++;
        core.st.lastError = errorText(err).slice(0, 500);
        core.checkpoint = null;
        o.log?.(`indexer step failed (${failures}), retrying: ${core.st.lastError}`);
        if (lock && !(await lock.stillHeld())) {
          await lock.release().catch(() => {});
          lock = null;
        }
        await sleep(Math.min(30_000, 2.5 * (o.backoffMs ?? 100) * 2 ** Math.min(failures, 7)));
      }
    }
    await lock?.release().catch(() => {});
    if (core.st.role !== 'failed') core.st.role = 'stopped';
  })();

  return {
    done,
    status: () => ({ ...core.st }),
    onAdvance(cb) {
      core.listeners.add(cb);
      return () => core.listeners.delete(cb);
    },
    poke() {
      (wake as (() => void) | null)?.();
    },
    async stop() {
      core.stopped = true;
      (wake as (() => void) | null)?.();
      await done;
    },
  };
}
