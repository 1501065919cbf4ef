import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Database } from './client.ts';

// Cache invalidation between app servers on one database. PostgreSQL: LISTEN/NOTIFY on one channel,
// over a dedicated connection that reconnects by itself (and then tells every subscriber, since
// notifications sent while it was away are lost). PGlite is single-process: an in-process emitter.
//
// Topics:
// - 'index': the indexer writer moved the checkpoint (sent by lib/indexer/store.ts inside the range's
//   transaction, so it arrives after the commit). A standby app server follows the writer at once
//   instead of at its next poll, and its caches of indexed state (consumer API, serving status) go.
// - 'manifests': a manifest was stored; answers that embed manifests are rebuilt.

export const INVALIDATION_CHANNEL = 'modeldao_invalidate';
export type InvalidationTopic = 'index' | 'manifests';

export interface InvalidationBus {
  /** Tells every app server on the database (this one included). */
  publish(topic: InvalidationTopic): Promise<void>;
  /** `cb` runs on every message for `topic`, and after a reconnect (messages may have been missed). */
  subscribe(topic: InvalidationTopic, cb: () => void): () => void;
  close(): Promise<void>;
}

export async function openInvalidationBus(database: Database, log: (msg: string) => void = () => {}): Promise<InvalidationBus> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const deliver = (topic: string) => emitter.emit(topic);
  const everything = () => {
    for (const t of emitter.eventNames()) emitter.emit(t);
  };
  const subscribe = (topic: InvalidationTopic, cb: () => void) => {
    const safe = () => {
      try {
        cb();
      } catch (err) {
        log(`invalidation handler for ${topic} failed: ${(err as Error).message}`);
      }
    };
    emitter.on(topic, safe);
    return () => void emitter.off(topic, safe);
  };

  if (database.kind !== 'postgres' || !database.pool) {
    return {
      publish: async (topic) => void deliver(topic),
      subscribe,
      close: async () => void emitter.removeAllListeners(),
    };
  }

  const pool = database.pool;
  let closed = false;
  let client: pg.PoolClient | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (first: boolean): Promise<void> => {
    try {
      const c = await pool.connect();
      c.on('notification', (m) => {
        if (m.channel === INVALIDATION_CHANNEL && m.payload) deliver(m.payload.split(':')[0]!);
      });
      c.on('error', () => {
        // the connection dropped: notifications are lost until we are back, so invalidate everything then
        c.release(true);
        if (client === c) client = null;
        if (!closed) retry = setTimeout(() => void connect(false), 500);
      });
      await c.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      if (closed) {
        c.release(true);
        return;
      }
      client = c;
      if (!first) {
        log('invalidation listener reconnected');
        everything();
      }
    } catch (err) {
      if (first) throw err;
      if (!closed) retry = setTimeout(() => void connect(false), 1000);
    }
  };
  await connect(true);
  return {
    async publish(topic) {
      await pool.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, topic]);
    },
    subscribe,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      emitter.removeAllListeners();
      const c = client;
      client = null;
      if (c) {
        await c.query(`UNLISTEN ${INVALIDATION_CHANNEL}`).catch(() => {});
        c.release(true);
      }
    },
  };
}

/** Inside a transaction: tells every app server, once it commits, that the index moved. */
export function indexMovedNotification(chainId: number): string {
  return `index:${chainId}`;
}
