import { sql, type SQL } from 'drizzle-orm';
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../../db/client.ts';
import * as schema from '../../db/schema/indexer.ts';
import type { ContractKind } from './abi.ts';
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

// ---- specs, derived from db/schema/indexer.ts (the one definition of these tables) ----

/** Column type of a drizzle column, as the bulk SQL above needs it. */
function colType(table: string, col: PgColumn): ColType {
  switch (col.columnType) {
    case 'PgInteger':
      return 'int';
    case 'PgSmallInt':
      return 'smallint';
    case 'PgBigInt53':
      return 'bigint';
    case 'PgNumeric':
      return 'uint';
    case 'PgText':
      return 'text';
    case 'PgTimestamp':
      return 'time';
    case 'PgJsonb':
      return 'json';
    case 'PgBoolean':
      return 'bool';
  }
  throw new Error(`${table}.${col.name}: column type ${col.columnType} has no bulk mapping in lib/indexer/tables.ts`);
}

/** The spec of a drizzle table: its name, primary key (chain_id first) and columns in declaration order. */
export function specOf(table: PgTable): TableSpec {
  const { name, columns, primaryKeys } = getTableConfig(table);
  const pk = primaryKeys.length > 0 ? primaryKeys[0]!.columns.map((c) => c.name) : columns.filter((c) => c.primary).map((c) => c.name);
  if (pk[0] !== 'chain_id') throw new Error(`${name}: the indexer's tables are keyed by chain_id first`);
  return { name, pk, cols: Object.fromEntries(columns.map((c) => [c.name, colType(name, c)])) };
}

export const eventTables = {
  governor: specOf(schema.governorEvent),
  token: specOf(schema.tokenEvent),
  timelock: specOf(schema.timelockEvent),
  registry: specOf(schema.registryEvent),
  erc20: specOf(schema.erc20Event),
} as const satisfies Record<ContractKind, TableSpec>;

export const T = {
  checkpoint: specOf(schema.indexerCheckpoint),
  block: specOf(schema.indexerBlock),
  model: specOf(schema.model),
  modelVersion: specOf(schema.modelVersion),
  allowlist: specOf(schema.modelAllowlist),
  proposal: specOf(schema.proposal),
  vote: specOf(schema.vote),
  delegate: specOf(schema.delegate),
  delegation: specOf(schema.delegation),
  balance: specOf(schema.tokenBalance),
  settings: specOf(schema.governorSettings),
} satisfies Record<string, TableSpec>;

/** Tables derived from the events (emptied and replayed after a reorg). */
export const derivedTables: TableSpec[] = [T.model, T.modelVersion, T.allowlist, T.proposal, T.vote, T.delegate, T.delegation, T.balance, T.settings];
