import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { timed } from './profile.ts';

// Bulk reads and writes of the indexer's tables through jsonb_to_recordset: one statement and one
// parameter per batch whatever its size, the same SQL on PGlite and PostgreSQL. Rows are plain JSON
// objects keyed by column name: uint256 as decimal strings, times as unix seconds.

export type ColType = 'int' | 'smallint' | 'bigint' | 'uint' | 'text' | 'time' | 'json' | 'bool';

export interface TableSpec {
  name: string;
  /** Primary key columns, chain_id first. */
  pk: string[];
  cols: Record<string, ColType>;
}

export type Row = Record<string, any>;
/** drizzle database or transaction: both have execute(). */
export type Exec = Pick<Db, 'execute'>;

const recordType: Record<ColType, string> = {
  int: 'int',
  smallint: 'smallint',
  bigint: 'bigint',
  uint: 'text',
  text: 'text',
  time: 'float8',
  json: 'jsonb',
  bool: 'boolean',
};

function insertExpr(col: string, type: ColType): string {
  if (type === 'uint') return `x.${col}::numeric`;
  if (type === 'time') return `to_timestamp(x.${col})`;
  return `x.${col}`;
}

function selectExpr(col: string, type: ColType): string {
  if (type === 'uint') return `${col}::text AS ${col}`;
  if (type === 'time') return `extract(epoch from ${col})::float8 AS ${col}`;
  if (type === 'bigint') return `${col}::float8 AS ${col}`;
  return col;
}

function keyCast(type: ColType): string {
  return { int: '::int', smallint: '::smallint', bigint: '::bigint', uint: '::numeric', text: '', time: '', json: '::jsonb', bool: '::boolean' }[type];
}

const CHUNK = 5000;

export async function upsertRows(db: Exec, spec: TableSpec, rows: Row[], onConflict: 'update' | 'nothing' = 'update'): Promise<void> {
  if (rows.length === 0) return;
  const cols = Object.keys(spec.cols);
  const nonPk = cols.filter((c) => !spec.pk.includes(c));
  const head = `INSERT INTO ${spec.name} (${cols.join(', ')}) SELECT ${cols.map((c) => insertExpr(c, spec.cols[c]!)).join(', ')} FROM jsonb_to_recordset(`;
  const conflict =
    onConflict === 'nothing' || nonPk.length === 0
      ? `ON CONFLICT (${spec.pk.join(', ')}) DO NOTHING`
      : `ON CONFLICT (${spec.pk.join(', ')}) DO UPDATE SET ${nonPk.map((c) => `${c} = excluded.${c}`).join(', ')}`;
  const tail = `::jsonb) AS x(${cols.map((c) => `${c} ${recordType[spec.cols[c]!]}`).join(', ')}) ${conflict}`;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await timed(`upsert ${spec.name}`, () => db.execute(sql`${sql.raw(head)}${JSON.stringify(chunk)}${sql.raw(tail)}`));
  }
}

/** Rows whose primary key (after chain_id) is one of `keys`. */
export async function selectByKeys(db: Exec, spec: TableSpec, chainId: number, keys: unknown[][]): Promise<Row[]> {
  if (keys.length === 0) return [];
  const cols = Object.keys(spec.cols);
  const keyCols = spec.pk.slice(1);
  const out: Row[] = [];
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK);
    const q = sql`${sql.raw(`SELECT ${cols.map((c) => selectExpr(c, spec.cols[c]!)).join(', ')} FROM ${spec.name} WHERE chain_id = `)}${chainId}${sql.raw(
      ` AND (${keyCols.join(', ')}) IN (SELECT ${keyCols.map((c, j) => `(e->>${j})${keyCast(spec.cols[c]!)}`).join(', ')} FROM jsonb_array_elements(`,
    )}${JSON.stringify(chunk)}${sql.raw('::jsonb) e)')}`;
    const res = await timed(`select ${spec.name}`, () => db.execute(q));
    out.push(...(res.rows as Row[]));
  }
  return out;
}

/** Every row of a chain, in primary-key order (dumps, replay). */
export function selectAllSql(spec: TableSpec, chainId: number, extraWhere = '', orderBy?: string): SQL {
  const cols = Object.keys(spec.cols);
  return sql`${sql.raw(`SELECT ${cols.map((c) => selectExpr(c, spec.cols[c]!)).join(', ')} FROM ${spec.name} WHERE chain_id = `)}${chainId}${sql.raw(
    ` ${extraWhere} ORDER BY ${orderBy ?? spec.pk.join(', ')}`,
  )}`;
}

export function keyOf(spec: TableSpec, row: Row): string {
  return spec.pk
    .slice(1)
    .map((c) => String(row[c]))
    .join('|');
}

// ---- specs (mirror db/schema/indexer.ts) ----

const eventCols: Record<string, ColType> = {
  chain_id: 'int',
  tx_hash: 'text',
  log_index: 'int',
  block_number: 'bigint',
  block_hash: 'text',
  block_time: 'time',
  address: 'text',
  event_name: 'text',
  args: 'json',
};
const eventSpec = (name: string): TableSpec => ({ name, pk: ['chain_id', 'block_number', 'log_index'], cols: eventCols });

export const eventTables = {
  governor: eventSpec('governor_event'),
  token: eventSpec('token_event'),
  timelock: eventSpec('timelock_event'),
  registry: eventSpec('registry_event'),
} as const;

export const T = {
  checkpoint: { name: 'indexer_checkpoint', pk: ['chain_id'], cols: { chain_id: 'int', block_number: 'bigint', block_hash: 'text' } },
  block: { name: 'indexer_block', pk: ['chain_id', 'block_number'], cols: { chain_id: 'int', block_number: 'bigint', block_hash: 'text', parent_hash: 'text', block_time: 'time' } },
  model: {
    name: 'model',
    pk: ['chain_id', 'model_id'],
    cols: {
      chain_id: 'int',
      model_id: 'uint',
      slug: 'text',
      access_kind: 'text',
      access_token: 'text',
      access_min_balance: 'uint',
      current_version: 'int',
      version_count: 'int',
      registered_at_block: 'bigint',
      registered_at: 'time',
      registered_tx: 'text',
      updated_at_block: 'bigint',
    },
  },
  modelVersion: {
    name: 'model_version',
    pk: ['chain_id', 'model_id', 'version'],
    cols: {
      chain_id: 'int',
      model_id: 'uint',
      version: 'int',
      manifest_digest: 'text',
      parent_version: 'int',
      published_at: 'time',
      published_block: 'bigint',
      published_tx: 'text',
      status: 'text',
      status_changed_block: 'bigint',
      status_changed_at: 'time',
      status_changed_tx: 'text',
      status_changed_by: 'text',
      current_from_block: 'bigint',
      current_from: 'time',
      current_to_block: 'bigint',
      current_to: 'time',
      current_from_tx: 'text',
      current_to_tx: 'text',
    },
  },
  allowlist: {
    name: 'model_allowlist',
    pk: ['chain_id', 'model_id', 'account'],
    cols: { chain_id: 'int', model_id: 'uint', account: 'text', allowed: 'bool', updated_at_block: 'bigint' },
  },
  proposal: {
    name: 'proposal',
    pk: ['chain_id', 'proposal_id'],
    cols: {
      chain_id: 'int',
      proposal_id: 'uint',
      proposer: 'text',
      targets: 'json',
      values: 'json',
      calldatas: 'json',
      signatures: 'json',
      description: 'text',
      description_hash: 'text',
      vote_start: 'time',
      vote_end: 'time',
      extended_deadline: 'time',
      for_votes: 'uint',
      against_votes: 'uint',
      abstain_votes: 'uint',
      vote_count: 'int',
      created_block: 'bigint',
      created_at: 'time',
      created_tx: 'text',
      eta: 'time',
      queued_block: 'bigint',
      queued_at: 'time',
      queued_tx: 'text',
      executed_block: 'bigint',
      executed_at: 'time',
      executed_tx: 'text',
      canceled_block: 'bigint',
      canceled_at: 'time',
      canceled_tx: 'text',
      timelock_id: 'text',
    },
  },
  vote: {
    name: 'vote',
    pk: ['chain_id', 'proposal_id', 'voter'],
    cols: {
      chain_id: 'int',
      proposal_id: 'uint',
      voter: 'text',
      support: 'smallint',
      weight: 'uint',
      reason: 'text',
      params: 'text',
      block_number: 'bigint',
      voted_at: 'time',
      tx_hash: 'text',
      log_index: 'int',
    },
  },
  delegate: {
    name: 'delegate',
    pk: ['chain_id', 'address'],
    cols: { chain_id: 'int', address: 'text', voting_power: 'uint', delegator_count: 'int', votes_cast: 'int', updated_at_block: 'bigint' },
  },
  delegation: {
    name: 'delegation',
    pk: ['chain_id', 'delegator'],
    cols: { chain_id: 'int', delegator: 'text', delegatee: 'text', updated_at_block: 'bigint' },
  },
  balance: {
    name: 'token_balance',
    pk: ['chain_id', 'address'],
    cols: { chain_id: 'int', address: 'text', balance: 'uint', updated_at_block: 'bigint' },
  },
  settings: {
    name: 'governor_settings',
    pk: ['chain_id'],
    cols: {
      chain_id: 'int',
      voting_delay: 'bigint',
      voting_period: 'bigint',
      proposal_threshold: 'uint',
      quorum_numerator: 'uint',
      late_quorum_vote_extension: 'bigint',
      timelock: 'text',
      proposal_guardian: 'text',
      timelock_min_delay: 'bigint',
      updated_at_block: 'bigint',
    },
  },
} satisfies Record<string, TableSpec>;

/** Tables derived from the events (emptied and replayed after a reorg). */
export const derivedTables: TableSpec[] = [T.model, T.modelVersion, T.allowlist, T.proposal, T.vote, T.delegate, T.delegation, T.balance, T.settings];
