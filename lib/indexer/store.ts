import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
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

/** The checkpoint row; updated_at is when the indexer moved it (how stale the index is, for readers). */
function checkpointRow(chainId: number, blockNumber: number, blockHash: string): Row {
  return { chain_id: chainId, block_number: blockNumber, block_hash: blockHash, updated_at: Date.now() / 1000 };
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
 */
export async function writeRange(
  db: Db,
  chainId: number,
  events: IndexedEvent[],
  headers: BlockHeader[],
  checkpoint: BlockHeader,
  reorgWindow: number,
): Promise<BatchSummary> {
  return db.transaction(async (tx) => {
    const byKind: Record<ContractKind, Row[]> = { governor: [], token: [], timelock: [], registry: [], erc20: [] };
    for (const e of events) byKind[e.kind].push(eventRow(chainId, e));
    for (const kind of Object.keys(byKind) as ContractKind[]) await upsertRows(tx, eventTables[kind], byKind[kind], 'nothing');
    const summary = await timed('applyEvents', () => applyEvents(tx, chainId, events));
    const blockRows = headers.map((h) => ({
      chain_id: chainId,
      block_number: h.number,
      block_hash: h.hash,
      parent_hash: h.parentHash,
      block_time: h.timestamp,
    }));
    await upsertRows(tx, T.block, blockRows);
    await tx.execute(sql`DELETE FROM indexer_block WHERE chain_id = ${chainId} AND block_number < ${checkpoint.number - reorgWindow}`);
    await upsertRows(tx, T.checkpoint, [checkpointRow(chainId, checkpoint.number, checkpoint.hash)]);
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
 * by replaying the remaining events in chain order, moves the checkpoint back. One transaction.
 */
export async function rollbackTo(db: Db, chainId: number, ancestor: { number: number; hash: string }): Promise<void> {
  await db.transaction(async (tx) => {
    for (const spec of Object.values(eventTables))
      await tx.execute(sql`${sql.raw(`DELETE FROM ${spec.name} WHERE chain_id = `)}${chainId}${sql.raw(' AND block_number > ')}${ancestor.number}`);
    await tx.execute(sql`DELETE FROM indexer_block WHERE chain_id = ${chainId} AND block_number > ${ancestor.number}`);
    for (const spec of derivedTables) await tx.execute(sql`${sql.raw(`DELETE FROM ${spec.name} WHERE chain_id = `)}${chainId}`);
    await replayEvents(tx, chainId);
    await upsertRows(tx, T.checkpoint, [checkpointRow(chainId, ancestor.number, ancestor.hash)]);
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

/** indexer_checkpoint.updated_at says when the index last moved (the upsert only set it on insert). */
async function touchCheckpoint(tx: Exec, chainId: number): Promise<void> {
  await tx.execute(sql`UPDATE indexer_checkpoint SET updated_at = clock_timestamp() WHERE chain_id = ${chainId}`);
}
