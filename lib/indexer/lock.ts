import type { Database } from '../../db/client.ts';

// One writer per database. PostgreSQL: a session advisory lock held on a dedicated connection, so
// app instances and standalone indexers on other hosts exclude each other, and the lock goes away
// with a crashed process's connection. PGlite: the database is single-process (db/client.ts keeps a
// pid lock file in the data dir), so a per-process registry is enough.

export interface WriterLock {
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

const LOCK_NAMESPACE = 0x6d64; // 'md'
const held: Set<unknown> = ((globalThis as { __modeldaoIndexerLocks?: Set<unknown> }).__modeldaoIndexerLocks ??= new Set());

export async function acquireWriterLock(database: Database, chainId: number): Promise<WriterLock | null> {
  if (database.kind === 'postgres' && database.pool) {
    const conn = await database.pool.connect();
    let broken = false;
    conn.on('error', () => (broken = true));
    try {
      const res = await conn.query('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_NAMESPACE, chainId]);
      if (!res.rows[0].ok) {
        conn.release();
        return null;
      }
    } catch (err) {
      conn.release(true);
      throw err;
    }
    return {
      async stillHeld() {
        if (broken) return false;
        try {
          const r = await conn.query(
            "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = $1 AND objid = $2 AND granted",
            [LOCK_NAMESPACE, chainId],
          );
          return r.rows[0].n > 0;
        } catch {
          return false;
        }
      },
      async release() {
        try {
          if (!broken) await conn.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, chainId]);
          conn.release();
        } catch {
          conn.release(true);
        }
      },
    };
  }
  const key = database.pglite ?? database.db;
  const id = { key, chainId };
  for (const h of held) if ((h as typeof id).key === key && (h as typeof id).chainId === chainId) return null;
  held.add(id);
  return {
    stillHeld: async () => held.has(id),
    release: async () => void held.delete(id),
  };
}
