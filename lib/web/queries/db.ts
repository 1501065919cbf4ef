import 'server-only';
import { openDatabase, type Db } from '@/db/client';
import { getEnv } from '@/lib/web/server-env';

// One handle for the page renderer, opened on first use. openDatabase itself shares the underlying
// PGlite/pool per data dir on globalThis, so the custom server's indexer and the pages use one database.
const holder = globalThis as unknown as { __modeldaoWebDb?: Promise<Db> };

export function getDb(): Promise<Db> {
  holder.__modeldaoWebDb ??= openDatabase(getEnv()).then((d) => d.db);
  holder.__modeldaoWebDb.catch(() => (holder.__modeldaoWebDb = undefined));
  return holder.__modeldaoWebDb;
}
