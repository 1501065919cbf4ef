import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { integer, pgTable, primaryKey, varchar } from 'drizzle-orm/pg-core';
import { isTable } from 'drizzle-orm';
import { openDatabase, type Database } from '../../db/client.ts';
import * as indexerSchema from '../../db/schema/indexer.ts';
import { T, derivedTables, eventTables, selectByKeys, specOf, upsertRows, type ColType, type TableSpec } from '../../lib/indexer/tables.ts';

// The indexer's bulk SQL works from table specs derived from db/schema/indexer.ts. These tests hold
// the derived specs against the database the migrations actually build, so the schema, the
// migrations and the indexer's writes cannot drift apart silently.

const pgType: Record<ColType, string> = {
  int: 'integer',
  smallint: 'smallint',
  bigint: 'bigint',
  uint: 'numeric',
  text: 'text',
  time: 'timestamp with time zone',
  json: 'jsonb',
  bool: 'boolean',
};

let database: Database;
beforeAll(async () => {
  database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
});
afterAll(async () => {
  await database?.close();
});

const allSpecs: TableSpec[] = [...Object.values(eventTables), ...Object.values(T)];

describe('indexer table specs', () => {
  it('cover every table of db/schema/indexer.ts', () => {
    const schemaTables = Object.values(indexerSchema)
      .filter((t) => isTable(t))
      .map((t) => specOf(t as never).name)
      .sort();
    expect(allSpecs.map((s) => s.name).sort()).toEqual(schemaTables);
    // the reorg replay empties every derived table
    expect(derivedTables.map((s) => s.name).sort()).toEqual(
      allSpecs
        .map((s) => s.name)
        .filter((n) => !n.endsWith('_event') && !n.startsWith('indexer_'))
        .sort(),
    );
  });

  it.each(allSpecs.map((s) => [s.name, s] as const))('%s matches the migrated table: columns, types and primary key', async (name, spec) => {
    const cols = (
      await database.db.execute(
        sql`select column_name, data_type from information_schema.columns where table_schema = 'public' and table_name = ${name} order by ordinal_position`,
      )
    ).rows as { column_name: string; data_type: string }[];
    expect(Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]))).toEqual(
      Object.fromEntries(Object.entries(spec.cols).map(([c, t]) => [c, pgType[t]])),
    );
    const pk = (
      await database.db.execute(sql`select k.column_name from information_schema.table_constraints c
        join information_schema.key_column_usage k on k.constraint_name = c.constraint_name and k.table_name = c.table_name
        where c.table_schema = 'public' and c.table_name = ${name} and c.constraint_type = 'PRIMARY KEY' order by k.ordinal_position`)
    ).rows as { column_name: string }[];
    expect(pk.map((r) => r.column_name)).toEqual(spec.pk);
  });

  it('includes indexer_checkpoint.updated_at, which a checkpoint write must set', async () => {
    expect(T.checkpoint.cols.updated_at).toBe('time');
    const now = Math.floor(Date.now() / 1000);
    await upsertRows(database.db, T.checkpoint, [{ chain_id: 7, block_number: 12, block_hash: '0xab', updated_at: now }]);
    await upsertRows(database.db, T.checkpoint, [{ chain_id: 7, block_number: 13, block_hash: '0xcd', updated_at: now + 5 }]);
    expect(await selectByKeys(database.db, { ...T.checkpoint, pk: ['chain_id', 'block_number'] }, 7, [[13]])).toEqual([
      { chain_id: 7, block_number: 13, block_hash: '0xcd', updated_at: now + 5 },
    ]);
  });

  it('refuses a column type the bulk SQL has no mapping for, naming the column', () => {
    const t = pgTable('x', { chainId: integer('chain_id').notNull(), name: varchar('name', { length: 8 }) }, (t) => [primaryKey({ columns: [t.chainId] })]);
    expect(() => specOf(t)).toThrow(/x\.name: column type PgVarchar/);
  });
});
