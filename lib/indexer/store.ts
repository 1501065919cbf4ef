import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { INVALIDATION_CHANNEL, indexMovedNotification } from '../../db/notify.ts';
import type { ContractKind } from './abi.ts';
import { timed } from './profile.ts';
import { applyEvents, type BatchSummary, type IndexedEvent } from './reducer.ts';
import { T, derivedTables, eventTables, selectAllSql, upsertRows, type Exec, type Row } from './tables.ts';

export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  /** unix seconds */
  timestamp: number;
}

export interface Checkpoint {
  blockNumber: number;
  blockHash: string;
}

export async function loadCheckpoint(db: Exec, chainId: number): Promise<Checkpoint | null> {
  const res = await db.execute(selectAllSql(T.checkpoint, chainId));
  const r = res.rows[0] as Row | undefined;
  return r ? { blockNumber: Number(r.block_number), blockHash: r.block_hash } : null;
}

/**
 * The checkpoint moved under this writer: another process wrote the range (or rolled back) since this
 * one read the checkpoint — typically a writer that lost its lock without noticing. The range's
 * transaction is rolled back; the writer re-reads the checkpoint and carries on from there.
 */
export class CheckpointConflictError extends Error {
  constructor(
    readonly chainId: number,
    readonly expected: Checkpoint | null,
  ) {
    super(
      `chain ${chainId}: the indexer checkpoint is no longer ${expected ? `block ${expected.blockNumber} (${expected.blockHash})` : 'unset'}: another writer moved it; this range was not applied`,
    );
  }
}

function affectedRows(res: { rowCount?: number | null; affectedRows?: number }): number {
  return res.rowCount ?? res.affectedRows ?? 0;
}

/**
 * Moves the checkpoint from `previous` to `next` as a compare-and-set, FIRST in the range's
 * transaction: on PostgreSQL the row lock it takes makes a concurrent writer of the same range wait
 * for this one's commit, after which its WHERE no longer matches (READ COMMITTED re-checks the
 * updated row) and it gets {@link CheckpointConflictError} before it wrote anything. An unset
 * checkpoint is claimed by an INSERT that a concurrent insert turns into a no-op the same way.
 * updated_at is when the indexer moved it (how stale the index is, for readers).
 */
async function compareAndSetCheckpoint(tx: Exec, chainId: number, previous: Checkpoint | null, next: { number: number; hash: string }): Promise<void> {
  const res = previous
    ? await tx.execute(
        sql`UPDATE indexer_checkpoint SET block_number = ${next.number}, block_hash = ${next.hash}, updated_at = clock_timestamp()
            WHERE chain_id = ${chainId} AND block_number = ${previous.blockNumber} AND block_hash = ${previous.blockHash}`,
      )
    : await tx.execute(
        sql`INSERT INTO indexer_checkpoint (chain_id, block_number, block_hash, updated_at) VALUES (${chainId}, ${next.number}, ${next.hash}, clock_timestamp())
            ON CONFLICT (chain_id) DO NOTHING`,
      );
  if (affectedRows(res) !== 1) throw new CheckpointConflictError(chainId, previous);
  // delivered at commit (not at all on rollback): standby app servers follow at once (db/notify.ts)
  await tx.execute(sql`SELECT pg_notify(${INVALIDATION_CHANNEL}, ${indexMovedNotification(chainId)})`);
}

function eventRow(chainId: number, e: IndexedEvent): Row {
  return {
    chain_id: chainId,
    tx_hash: e.txHash,
    log_index: e.logIndex,
    block_number: e.blockNumber,
    block_hash: e.blockHash,
    block_time: e.blockTime,
    address: e.address,
    event_name: e.eventName,
    args: e.args,
  };
}

/**
 * One indexed range, atomically: its events, the derived state they imply, the recent block hashes
 * and the checkpoint. A crash at any point leaves the database at the previous checkpoint.
 * `previous` is the checkpoint the range starts from (null: nothing indexed yet); when the stored
 * one differs, nothing is written and {@link CheckpointConflictError} is thrown, so a range is never
 * applied twice (derived tallies are increments: a second application would double-count).
 */
export async function writeRange(
  db: Db,
  chainId: number,
  previous: Checkpoint | null,
  events: IndexedEvent[],
  headers: BlockHeader[],
  checkpoint: BlockHeader,
  reorgWindow: number,
  /** Runs after the range's events were applied, before the checkpoint moves (derived chain positions: lib/indexer/deadlines.ts). */
  afterApply?: (tx: Exec) => Promise<unknown>,
): Promise<BatchSummary> {
  return db.transaction(async (tx) => {
    await compareAndSetCheckpoint(tx, chainId, previous, checkpoint);
    const byKind: Record<ContractKind, Row[]> = { governor: [], token: [], timelock: [], registry: [], erc20: [] };
    for (const e of events) byKind[e.kind].push(eventRow(chainId, e));
    for (const kind of Object.keys(byKind) as ContractKind[]) await upsertRows(tx, eventTables[kind], byKind[kind], 'nothing');
    const summary = await timed('applyEvents', () => applyEvents(tx, chainId, events));
    if (afterApply) await afterApply(tx);
    const blockRows = headers.map((h) => ({
      chain_id: chainId,
      block_number: h.number,
      block_hash: h.hash,
      parent_hash: h.parentHash,
      block_time: h.timestamp,
    }));
    await upsertRows(tx, T.block, blockRows);
    await tx.execute(sql`DELETE FROM indexer_block WHERE chain_id = ${chainId} AND block_number < ${checkpoint.number - reorgWindow}`);
    return summary;
  });
}

/** Stored recent blocks, newest first (to find the common ancestor after a reorg). */
export async function recentBlocks(db: Exec, chainId: number): Promise<{ number: number; hash: string }[]> {
  const res = await db.execute(selectAllSql(T.block, chainId, '', 'block_number DESC'));
  return (res.rows as Row[]).map((r) => ({ number: Number(r.block_number), hash: r.block_hash }));
}

const REPLAY_CHUNK = 20_000;

/**
 * Undoes everything after `ancestor`: deletes later events and blocks, rebuilds the derived tables
 * by replaying the remaining events in chain order, moves the checkpoint back. One transaction, which
 * starts with the same compare-and-set on `from` (the checkpoint the reorg was detected at) as
 * {@link writeRange}.
 */
export async function rollbackTo(db: Db, chainId: number, from: Checkpoint, ancestor: { number: number; hash: string }): Promise<void> {
  await db.transaction(async (tx) => {
    await compareAndSetCheckpoint(tx, chainId, from, ancestor);
    for (const spec of Object.values(eventTables))
      await tx.execute(sql`${sql.raw(`DELETE FROM ${spec.name} WHERE chain_id = `)}${chainId}${sql.raw(' AND block_number > ')}${ancestor.number}`);
    await tx.execute(sql`DELETE FROM indexer_block WHERE chain_id = ${chainId} AND block_number > ${ancestor.number}`);
    // derived positions above the fork (their block, or the tallies behind them, may be gone): recomputed going forward
    await tx.execute(sql`DELETE FROM proposal_deadline_event WHERE chain_id = ${chainId} AND block_number > ${ancestor.number}`);
    for (const spec of derivedTables) await tx.execute(sql`${sql.raw(`DELETE FROM ${spec.name} WHERE chain_id = `)}${chainId}`);
    await replayEvents(tx, chainId);
  });
}

/** Rebuilds the derived tables from the event tables (which must be consistent). */
async function replayEvents(tx: Exec, chainId: number): Promise<void> {
  let after = { block: -1, log: -1 };
  for (;;) {
    const parts = Object.entries(eventTables).map(
      ([kind, spec]) =>
        `SELECT '${kind}' AS kind, event_name, args, block_number::float8 AS block_number, block_hash, extract(epoch from block_time)::float8 AS block_time, tx_hash, log_index, address FROM ${spec.name} WHERE chain_id = $CHAIN AND (block_number, log_index) > ($B, $L)`,
    );
    const text = `${parts.join(' UNION ALL ')} ORDER BY block_number, log_index LIMIT ${REPLAY_CHUNK}`;
    const [head, ...rest] = text.split(/(\$CHAIN|\$B|\$L)/);
    let q = sql.raw(head ?? '');
    for (let i = 0; i < rest.length; i += 2) {
      const p = rest[i] === '$CHAIN' ? chainId : rest[i] === '$B' ? after.block : after.log;
      q = sql`${q}${p}${sql.raw(rest[i + 1] ?? '')}`;
    }
    const rows = (await tx.execute(q)).rows as Row[];
    if (rows.length === 0) return;
    const events: IndexedEvent[] = rows.map((r) => ({
      kind: r.kind,
      eventName: r.event_name,
      args: typeof r.args === 'string' ? JSON.parse(r.args) : r.args,
      blockNumber: Number(r.block_number),
      blockHash: r.block_hash,
      blockTime: Number(r.block_time),
      txHash: r.tx_hash,
      logIndex: Number(r.log_index),
      address: r.address,
    }));
    await applyEvents(tx, chainId, events);
    const last = events[events.length - 1]!; // rows.length > 0
    after = { block: last.blockNumber, log: last.logIndex };
    if (rows.length < REPLAY_CHUNK) return;
  }
}

/** Table name → rows, as {@link dumpIndex} returns them (`indexer_block` only with `withBlocks`). */
export type IndexDump = Record<string, Row[]> &
  Record<
    | 'governor_event'
    | 'token_event'
    | 'timelock_event'
    | 'registry_event'
    | 'indexer_checkpoint'
    | 'model'
    | 'model_version'
    | 'model_allowlist'
    | 'proposal'
    | 'vote'
    | 'delegate'
    | 'delegation'
    | 'token_balance'
    | 'governor_settings',
    Row[]
  >;

/**
 * Every indexed row of a chain in a stable order, as JSON: what tests compare between runs
 * (crash/restart, reorg vs fresh index). `withBlocks` adds the recent-block table.
 */
export async function dumpIndex(db: Exec, chainId: number, opts: { withBlocks?: boolean } = {}): Promise<IndexDump> {
  const out = {} as IndexDump; // every table below is filled in
  for (const spec of Object.values(eventTables)) out[spec.name] = (await db.execute(selectAllSql(spec, chainId, '', 'block_number, log_index'))).rows as Row[];
  // the checkpoint's updated_at is wall-clock time, not indexed state: left out so runs compare equal
  const checkpoint = { ...T.checkpoint, cols: Object.fromEntries(Object.entries(T.checkpoint.cols).filter(([c]) => c !== 'updated_at')) };
  for (const spec of [...derivedTables, checkpoint, ...(opts.withBlocks ? [T.block] : [])])
    out[spec.name] = (await db.execute(selectAllSql(spec, chainId))).rows as Row[];
  return out;
}
