import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from './schema/index.ts';

// One database handle per data dir (or DATABASE_URL) per process. Next's bundled server code and the
// custom node server are separate module graphs in the same process, so the handle lives on
// globalThis, not in a module variable. Migrations run explicitly here, never at import time.

export type Schema = typeof schema;
/** What db.execute() resolves to on both drivers (node-postgres QueryResult, PGlite Results). */
export interface ExecuteResultHKT extends PgQueryResultHKT {
  type: { rows: Record<string, unknown>[]; rowCount?: number | null; affectedRows?: number };
}
/** Both drivers' drizzle databases share this interface (pg-core). */
export type Db = PgDatabase<ExecuteResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** The driver underneath, for what drizzle does not cover (advisory locks on a dedicated connection). */
  pglite?: PGlite;
  pool?: pg.Pool;
  /** Releases this reference; the last one closes the connection/PGlite. */
  close(): Promise<void>;
}

export interface DatabaseEnv {
  pgliteDir: string;
  DATABASE_URL?: string;
}

export interface OpenDatabaseOptions {
  /** PGlite in memory (tests); ignores env.pgliteDir. Each call gets its own database. */
  inMemory?: boolean;
  /** Where the committed drizzle migrations are (default: db/migrations). */
  migrationsFolder?: string;
}

export class DatabaseLockedError extends Error {}

interface Shared {
  key: string;
  refs: number;
  ready: Promise<Omit<Database, 'close'>>;
  shutdown(): Promise<void>;
}

const registry: Map<string, Shared> = ((globalThis as { __modeldaoDatabases?: Map<string, Shared> }).__modeldaoDatabases ??= new Map());

export function defaultMigrationsFolder(): string {
  const candidates = [
    path.resolve(process.cwd(), 'db/migrations'),
    (() => {
      try {
        // (not new URL('./migrations', import.meta.url): Next's bundler takes that for an asset import and warns on every page)
        return path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
      } catch {
        return '';
      }
    })(),
  ];
  for (const c of candidates) if (c && fs.existsSync(path.join(c, 'meta', '_journal.json'))) return c;
  throw new Error(`drizzle migrations not found (looked in ${candidates.filter(Boolean).join(', ')}); run from the repo root`);
}

export async function openDatabase(env: DatabaseEnv, opts: OpenDatabaseOptions = {}): Promise<Database> {
  const migrationsFolder = opts.migrationsFolder ?? defaultMigrationsFolder();
  if (opts.inMemory) {
    const shared = makePglite(null, migrationsFolder);
    shared.refs = 1;
    const base = await shared.ready;
    return { ...base, close: () => shared.shutdown() };
  }
  const key = env.DATABASE_URL ? `postgres:${env.DATABASE_URL}` : `pglite:${path.resolve(env.pgliteDir)}`;
  let shared = registry.get(key);
  if (!shared) {
    shared = env.DATABASE_URL ? makePostgres(env.DATABASE_URL, migrationsFolder) : makePglite(path.resolve(env.pgliteDir), migrationsFolder);
    shared.key = key;
    registry.set(key, shared);
    shared.ready.catch(() => registry.delete(key));
  }
  shared.refs++;
  const s = shared;
  const base = await s.ready;
  let closed = false;
  return {
    ...base,
    close: async () => {
      if (closed) return;
      closed = true;
      if (--s.refs > 0) return;
      registry.delete(s.key);
      await s.shutdown();
    },
  };
}

/**
 * MODELDAO_PGLITE_TEMPLATE: the path of a `dumpDataDir()` image of a database this same PGlite created
 * and migrated. When it is set, a NEW database (in memory, or a data dir with no cluster in it yet)
 * is loaded from that image instead of running initdb and every migration in WASM: about 0.6 CPU s
 * instead of 2.6 s per database. The migrations still run after it (a no-op when the image is
 * current), so an older image only costs time. The test run sets it (tests/global-setup.ts): the
 * suite opens over a hundred databases. Unset (production), nothing changes.
 */
export const PGLITE_TEMPLATE_ENV = 'MODELDAO_PGLITE_TEMPLATE';
let templateCache: { file: string; blob: Blob } | undefined;
function templateImage(): Blob | null {
  const file = process.env[PGLITE_TEMPLATE_ENV];
  if (!file) return null;
  if (templateCache?.file !== file) templateCache = { file, blob: new Blob([fs.readFileSync(file)]) };
  return templateCache.blob;
}

/** Writes the image MODELDAO_PGLITE_TEMPLATE names: a new in-memory database, migrated, dumped to `file`. */
export async function writePgliteTemplate(file: string, migrationsFolder = defaultMigrationsFolder()): Promise<void> {
  const client = new PGlite();
  try {
    await client.waitReady;
    await migratePglite(drizzlePglite({ client, schema }), { migrationsFolder });
    const image = await client.dumpDataDir('none');
    fs.writeFileSync(`${file}.tmp`, Buffer.from(await image.arrayBuffer()));
    fs.renameSync(`${file}.tmp`, file);
  } finally {
    await client.close();
  }
}

function makePglite(dir: string | null, migrationsFolder: string): Shared {
  let client: PGlite | undefined;
  let releaseLock = () => {};
  const ready = (async () => {
    if (dir) {
      fs.mkdirSync(dir, { recursive: true });
      releaseLock = await acquireDirLock(dir);
    }
    try {
      // a database that does not exist yet (in memory, or no cluster in the dir) may start from the image
      const image = dir && fs.existsSync(path.join(dir, 'PG_VERSION')) ? null : templateImage();
      const options = image ? { loadDataDir: image } : {};
      client = dir ? new PGlite(dir, options) : new PGlite(options);
      await client.waitReady;
      const db = drizzlePglite({ client, schema });
      await migratePglite(db, { migrationsFolder });
      return { db: db as unknown as Db, kind: 'pglite' as const, pglite: client };
    } catch (err) {
      await client?.close().catch(() => {});
      releaseLock();
      throw err;
    }
  })();
  return {
    key: '',
    refs: 0,
    ready,
    shutdown: async () => {
      try {
        await ready.catch(() => {});
        if (client && !client.closed) await client.close();
      } finally {
        releaseLock();
      }
    },
  };
}

function makePostgres(url: string, migrationsFolder: string): Shared {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const ready = (async () => {
    const db = drizzlePg({ client: pool, schema });
    // Two processes starting at once must not both apply the same migration.
    const conn = await pool.connect();
    try {
      await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      await migratePg(drizzlePg({ client: conn as unknown as pg.Pool }), { migrationsFolder });
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
      conn.release();
    }
    await db.execute(sql`select 1`);
    return { db: db as unknown as Db, kind: 'postgres' as const, pool };
  })();
  ready.catch(() => pool.end().catch(() => {}));
  return {
    key: '',
    refs: 0,
    ready,
    shutdown: async () => {
      await ready.catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

const MIGRATION_LOCK_KEY = 0x6d6f64656c; // "model"

/**
 * PGlite is an embedded, single-process database: two processes opening the same directory would
 * corrupt it. The lock file names its owner by pid AND a random token: a lock with a live pid other
 * than ours keeps us out; one with our pid but a token we do not hold was left by a dead process
 * whose pid we reuse (containers) and is taken over; one we hold ourselves (a re-open while the
 * previous handle is still closing) is waited for, never taken as stale. Only the holder of the
 * token removes the file.
 */
type DirLock = { token: string; released: Promise<void> };
const heldDirLocks: Map<string, DirLock> = ((globalThis as { __modeldaoPgliteLocks?: Map<string, DirLock> }).__modeldaoPgliteLocks ??= new Map());

async function acquireDirLock(dirPath: string): Promise<() => void> {
  const dir = fs.realpathSync(dirPath); // one key per directory, however it was named
  const file = path.join(dir, '.modeldao.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ours = heldDirLocks.get(dir);
    if (ours) {
      // This process still has it open (closing): wait for that handle to let go.
      if (Date.now() > deadline) throw new DatabaseLockedError(`PGlite data dir ${dir} is still open in this process`);
      await Promise.race([ours.released, new Promise((r) => setTimeout(r, 1000))]);
      continue;
    }
    const token = crypto.randomBytes(16).toString('hex');
    try {
      fs.writeFileSync(file, `${process.pid} ${token}`, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText, ownerToken] = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
      const owner = Number(pidText);
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new DatabaseLockedError(
          `PGlite data dir ${dir} is in use by process ${owner}; PGlite is single-process (use DATABASE_URL for several processes)`,
        );
      }
      // A dead owner, or our pid with a token we do not hold: stale. Remove it only if unchanged.
      try {
        const now = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
        if (now[0] === pidText && now[1] === ownerToken) fs.unlinkSync(file);
      } catch {}
      if (Date.now() > deadline) throw new DatabaseLockedError(`could not lock PGlite data dir ${dir}`);
      continue;
    }
    let markReleased = () => {};
    heldDirLocks.set(dir, { token, released: new Promise<void>((r) => (markReleased = r)) });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      try {
        if (fs.readFileSync(file, 'utf8') === `${process.pid} ${token}`) fs.unlinkSync(file);
      } catch {}
      if (heldDirLocks.get(dir)?.token === token) heldDirLocks.delete(dir);
      markReleased();
      process.off('exit', release);
    };
    process.on('exit', release);
    return release;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
