import type { Database } from '../../db/client.ts';

// One holder per database and purpose: the indexer's writer ('indexer'), and the process that does
// the background sending — webhook delivery and the relay's monitor ('senders', see Leadership).
// PostgreSQL: a session advisory lock held on a dedicated connection, so app instances and standalone
// indexers on other hosts exclude each other, and the lock goes away with a crashed process's
// connection. PGlite: the database is single-process (db/client.ts keeps a pid lock file in the data
// dir), so a per-process registry is enough.

export interface WriterLock {
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

export type LockPurpose = 'indexer' | 'senders';
/** advisory lock namespaces (classid): 'md' for the indexer's writer, 'ms' for the senders */
const LOCK_NAMESPACES: Record<LockPurpose, number> = { indexer: 0x6d64, senders: 0x6d73 };
const held: Set<unknown> = ((globalThis as { __modeldaoIndexerLocks?: Set<unknown> }).__modeldaoIndexerLocks ??= new Set());

export async function acquireWriterLock(database: Database, chainId: number, purpose: LockPurpose = 'indexer'): Promise<WriterLock | null> {
  const LOCK_NAMESPACE = LOCK_NAMESPACES[purpose];
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
  const id = { key, chainId, purpose };
  for (const h of held) {
    const o = h as typeof id;
    if (o.key === key && o.chainId === chainId && o.purpose === purpose) return null;
  }
  held.add(id);
  return {
    stillHeld: async () => held.has(id),
    release: async () => void held.delete(id),
  };
}

/**
 * Which process of those sharing a database does the background sending (webhook delivery, the
 * relay's monitor of pending transactions): the holder of the 'senders' lock. Independent of the
 * indexer's writer, so it works as well when a standalone indexer writes and every app server
 * stands by. A process that is not the leader tries again every `intervalMs`; the leader checks that
 * it still holds the lock as often (a dropped connection loses it), and a crashed leader's lock goes
 * with its connection.
 */
export class Leadership {
  private lock: WriterLock | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly chainId: number,
    private readonly o: { intervalMs?: number; onChange?: (leader: boolean) => void; log?: (m: string) => void } = {},
  ) {}

  isLeader(): boolean {
    return this.lock !== null;
  }

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 2000);
    this.timer.unref();
  }

  private check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        if (this.stopped) return;
        if (!this.lock) {
          this.lock = await acquireWriterLock(this.database, this.chainId, 'senders');
          if (this.lock) {
            this.o.log?.('this process now sends webhooks and follows relayed transactions (senders lock)');
            this.o.onChange?.(true);
          }
        } else if (!(await this.lock.stillHeld())) {
          await this.lock.release().catch(() => {});
          this.lock = null;
          this.o.log?.('senders lock lost: another process sends now');
          this.o.onChange?.(false);
        }
      } catch (err) {
        this.o.log?.(`senders lock: ${(err as Error).message}`);
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.checking;
    await this.lock?.release().catch(() => {});
    this.lock = null;
  }
}
