import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sql } from 'drizzle-orm';
import { rows, type AnyDb } from './catalog.ts';
import { S3ArtifactStore } from './s3-store.ts';
import { LocalArtifactStore, type PutOptions, type PutResult } from './store.ts';

// Resumable uploads (tus-style: create, PATCH at an offset, HEAD to learn the offset after a cut).
// The row says who owns the session, how long the file will be and what it should hash to; where
// the bytes are depends on the store (SessionBytes):
// - local store: `<store>/sessions/<id>.part`, and that file's size *is* the offset, so a session
//   survives a server restart or kill -9 with exactly the bytes that reached the disk;
// - S3 store: objects `<prefix>sessions/<id>/<start>-<uuid>` in the bucket, one per span of up to
//   8 MiB, listed in `upload_session_part` (db/schema/s3store.ts); the offset is the sum of the
//   parts, so any server sharing the database and the bucket continues the session.
// The row is written before any bytes exist and removed after they are gone, so there are never
// bytes without a row (a row without bytes is a session at offset 0).

/** Where a session's bytes live, per store backend. */
export interface SessionBytes {
  /** Bytes received so far (0 before the first PATCH). */
  offset(id: string): Promise<number>;
  /**
   * Appends `body` at `offset` (the session's current offset, checked by the caller), never past
   * `limit` bytes: a longer body appends nothing (`overflow`). A body cut off by the client keeps
   * every byte that arrived. Durable when it returns. Throws `SessionConflict` when another request
   * (on another server) appended at the same offset first.
   */
  append(id: string, offset: number, body: AsyncIterable<Uint8Array>, limit: number): Promise<{ appended: number; complete: boolean; overflow: boolean }>;
  /** Hashes the complete bytes and stores them as a blob (checks as `put`); the bytes stay until `discard`. */
  commit(id: string, opts: PutOptions): Promise<PutResult>;
  /** Removes the session's bytes. */
  discard(id: string): Promise<void>;
  /** Sessions that have bytes, with how many (for the sweep). */
  list(): Promise<{ id: string; bytes: number }[]>;
}

export class SessionConflict extends Error {}

/** Anything sessions accept as their store: a backend's SessionBytes, or the store itself. */
export type SessionStore = SessionBytes | LocalArtifactStore | S3ArtifactStore;
export interface UploadSession {
  id: string;
  account: string;
  length: number;
  expectedSha256: string | null;
  fileName: string | null;
  expiresAt: Date;
  /** the blob the finished file became (then the session only answers with it) */
  resultSha256: string | null;
}

const ID = /^[0-9a-f]{32}$/;

export function sessionFile(store: Pick<LocalArtifactStore, 'sessionDir'>, id: string): string {
  if (!ID.test(id)) throw new Error('bad session id');
  return path.join(store.sessionDir, `${id}.part`);
}

/** The SessionBytes of a store (S3 sessions keep their part list in `db`). */
export function sessionBytes(store: SessionStore, db: AnyDb): SessionBytes {
  if (store instanceof LocalArtifactStore) return new LocalSessionBytes(store);
  if (store instanceof S3ArtifactStore) return new S3SessionBytes(store, db);
  return store;
}

function toSession(r: Record<string, unknown>): UploadSession {
  return {
    id: String(r.id),
    account: String(r.account),
    length: Number(r.length),
    expectedSha256: (r.expected_sha256 as string | null) ?? null,
    fileName: (r.file_name as string | null) ?? null,
    expiresAt: new Date(r.expires_at as string),
    resultSha256: (r.result_sha256 as string | null) ?? null,
  };
}

export async function createSession(
  db: AnyDb,
  s: { account: string; length: number; expectedSha256?: string; fileName?: string; ttlSeconds: number },
): Promise<UploadSession> {
  const id = randomBytes(16).toString('hex');
  const [r] = await rows<Record<string, unknown>>(
    db,
    sql`insert into upload_session (id, account, length, expected_sha256, file_name, expires_at)
        values (${id}, ${s.account.toLowerCase()}, ${s.length}, ${s.expectedSha256 ?? null}, ${s.fileName ?? null}, now() + make_interval(secs => ${s.ttlSeconds}))
        returning id, account, length, expected_sha256, file_name, expires_at, result_sha256`,
  );
  return toSession(r!);
}

/** A live (unexpired) session, or null. */
export async function getSession(db: AnyDb, id: string): Promise<UploadSession | null> {
  if (!ID.test(id)) return null;
  const [r] = await rows<Record<string, unknown>>(
    db,
    sql`select id, account, length, expected_sha256, file_name, expires_at, result_sha256 from upload_session where id = ${id} and expires_at > now()`,
  );
  return r ? toSession(r) : null;
}

/** Bytes received so far (0 before the first PATCH; all of them once finished). */
export async function sessionOffset(bytes: SessionBytes, s: Pick<UploadSession, 'id' | 'length' | 'resultSha256'>): Promise<number> {
  if (s.resultSha256) return s.length;
  return bytes.offset(s.id);
}

export async function touchSession(db: AnyDb, id: string, ttlSeconds: number): Promise<Date> {
  const [r] = await rows<{ expires_at: string }>(
    db,
    sql`update upload_session set expires_at = now() + make_interval(secs => ${ttlSeconds}) where id = ${id} returning expires_at`,
  );
  return new Date(r!.expires_at);
}

/**
 * The file became blob `sha256` (already renamed away): the session stays, answering with that blob,
 * until it expires, so a client whose last response was lost can still learn the result.
 */
export async function finishSession(db: AnyDb, id: string, sha256: string): Promise<void> {
  await db.execute(sql`update upload_session set result_sha256 = ${sha256} where id = ${id}`);
}

/** Bytes first, then the row (never bytes without a row). */
export async function deleteSession(db: AnyDb, store: SessionStore, id: string): Promise<void> {
  await sessionBytes(store, db).discard(id);
  await db.execute(sql`delete from upload_session where id = ${id}`);
}

/** Declared bytes of the account's unfinished sessions: they count against its upload quota (a finished one counts as its blob). */
export async function openSessionBytes(db: AnyDb, account: string): Promise<number> {
  const [r] = await rows<{ total: string | number | null }>(
    db,
    sql`select coalesce(sum(length), 0) as total from upload_session
        where account = ${account.toLowerCase()} and expires_at > now() and result_sha256 is null`,
  );
  return Number(r?.total ?? 0);
}

/**
 * Deletes expired sessions with their bytes, and session files no row knows (a crash between
 * removing a file and its row cannot leave one, but a restored backup or a hand edit can).
 * Returns what was removed; `dryRun` only lists.
 */
export async function sweepSessions(
  db: AnyDb,
  store: SessionStore,
  o: { dryRun?: boolean } = {},
): Promise<{ id: string; bytes: number; reason: 'expired' | 'no_session_row' }[]> {
  const out: { id: string; bytes: number; reason: 'expired' | 'no_session_row' }[] = [];
  const bytes = sessionBytes(store, db);
  // bytes listed before the rows are read: a session created in between has a row, not listed bytes
  const listed = await bytes.list();
  const expired = await rows<{ id: string; length: string | number; result_sha256: string | null }>(
    db,
    sql`select id, length, result_sha256 from upload_session where expires_at <= now()`,
  );
  for (const r of expired) {
    const id = r.id;
    out.push({ id, bytes: r.result_sha256 ? 0 : await bytes.offset(id), reason: 'expired' });
    if (!o.dryRun) await deleteSession(db, bytes, id);
  }
  const known = new Set((await rows<{ id: string }>(db, sql`select id from upload_session`)).map((r) => r.id));
  for (const l of listed) {
    if (known.has(l.id) || out.some((x) => x.id === l.id)) continue;
    out.push({ id: l.id, bytes: l.bytes, reason: 'no_session_row' });
    if (!o.dryRun) await bytes.discard(l.id);
  }
  return out;
}

/** Bytes buffered per write while a PATCH streams (one write syscall per 4 MiB). */
const WRITE_BYTES = 4 * 1024 * 1024;

/** Local store: one file per session, `<store>/sessions/<id>.part`; its size is the offset. */
export class LocalSessionBytes implements SessionBytes {
  constructor(readonly store: LocalArtifactStore) {}

  async offset(id: string): Promise<number> {
    try {
      return (await fs.promises.stat(sessionFile(this.store, id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  async append(id: string, offset: number, body: AsyncIterable<Uint8Array>, limit: number) {
    const file = sessionFile(this.store, id);
    const fh = await fs.promises.open(file, 'a');
    const buf = Buffer.allocUnsafe(WRITE_BYTES);
    let fill = 0;
    let appended = 0;
    let complete = false;
    let overflow = false;
    const flush = async () => {
      if (fill === 0) return;
      const { bytesWritten } = await fh.write(buf, 0, fill);
      if (bytesWritten !== fill) throw new Error(`short write (${bytesWritten} of ${fill} bytes): disk full?`);
      appended += fill;
      fill = 0;
    };
    // A body that stops arriving is cut by the server's REQUEST_BODY_IDLE_SECONDS (main.ts bindBodyIdle).
    try {
      try {
        for await (const c of body) {
          const chunk = c as Buffer;
          if (appended + fill + chunk.length > limit) {
            overflow = true;
            break;
          }
          let off = 0;
          while (off < chunk.length) {
            const n = Math.min(chunk.length - off, WRITE_BYTES - fill);
            chunk.copy(buf, fill, off, off + n);
            fill += n;
            off += n;
            if (fill === WRITE_BYTES) await flush();
          }
        }
        complete = !overflow;
      } catch {
        complete = false; // the client went away mid-body: keep what arrived
      }
      if (!overflow) await flush();
      await fh.datasync();
    } finally {
      await fh.close();
    }
    if (overflow) {
      // the whole PATCH is refused: back to where it started
      await fs.promises.truncate(file, offset);
      appended = 0;
    }
    return { appended, complete, overflow };
  }

  commit(id: string, opts: PutOptions): Promise<PutResult> {
    return this.store.putFile(sessionFile(this.store, id), opts);
  }

  async discard(id: string): Promise<void> {
    await fs.promises.rm(sessionFile(this.store, id), { force: true });
  }

  async list(): Promise<{ id: string; bytes: number }[]> {
    const names = await fs.promises.readdir(this.store.sessionDir).catch(() => [] as string[]);
    const out: { id: string; bytes: number }[] = [];
    for (const name of names) {
      const file = path.join(this.store.sessionDir, name);
      out.push({ id: name.replace(/\.part$/, ''), bytes: (await fs.promises.stat(file).catch(() => null))?.size ?? 0 });
    }
    return out;
  }
}

/** Largest object one span of a PATCH becomes (a cut PATCH keeps every span that arrived, the last one short). */
const S3_SPAN_BYTES = 8 * 1024 * 1024;

/**
 * S3 store: a PATCH body becomes objects of up to 8 MiB under `<prefix>sessions/<id>/`, each
 * recorded in `upload_session_part` at the offset it starts at, so the next PATCH may go to any
 * server. Plain PUTs (not a multipart upload per session): S3 requires parts of at least 5 MiB,
 * and a PATCH may be any size. When the last byte is in, the spans are read back in order through
 * the store's `put` (hashing, checks, multipart upload to the blob's final key).
 */
export class S3SessionBytes implements SessionBytes {
  constructor(
    readonly store: S3ArtifactStore,
    readonly db: AnyDb,
  ) {}

  private prefixOf(id: string): string {
    if (!ID.test(id)) throw new Error('bad session id');
    return `${this.store.prefix}sessions/${id}/`;
  }

  private async parts(id: string): Promise<{ start: number; length: number; key: string }[]> {
    const r = await rows<{ start: string | number; length: string | number; key: string }>(
      this.db,
      sql`select start, length, key from upload_session_part where session_id = ${id} order by start`,
    );
    return r.map((p) => ({ start: Number(p.start), length: Number(p.length), key: p.key }));
  }

  async offset(id: string): Promise<number> {
    const [r] = await rows<{ total: string | number | null }>(
      this.db,
      sql`select coalesce(sum(length), 0) as total from upload_session_part where session_id = ${id}`,
    );
    return Number(r?.total ?? 0);
  }

  async append(id: string, offset: number, body: AsyncIterable<Uint8Array>, limit: number) {
    const { client, bucket } = this.store;
    let at = offset;
    let buf = Buffer.allocUnsafe(Math.min(S3_SPAN_BYTES, Math.max(limit, 1)));
    let fill = 0;
    let received = 0;
    let complete = false;
    let overflow = false;
    const written: { start: number; key: string }[] = [];
    const flush = async () => {
      if (fill === 0) return;
      const key = `${this.prefixOf(id)}${String(at).padStart(16, '0')}-${randomUUID()}`;
      // a stream body goes as UNSIGNED-PAYLOAD (no SDK sha256 pass); the blob's sha256 is checked at the end
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Readable.from([buf.subarray(0, fill)]), ContentLength: fill }));
      written.push({ start: at, key });
      // recorded only at the current offset: a concurrent writer of the same span makes this fail
      const inserted = await rows<{ start: string | number }>(
        this.db,
        sql`insert into upload_session_part (session_id, start, length, key) values (${id}, ${at}, ${fill}, ${key})
            on conflict do nothing returning start`,
      );
      if (inserted.length === 0) {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => {});
        throw new SessionConflict(`another request wrote the session's bytes at offset ${at}`);
      }
      at += fill;
      fill = 0;
      buf = Buffer.allocUnsafe(buf.length); // the previous buffer may still be referenced by the SDK
    };
    try {
      for await (const c of body) {
        const chunk = c as Buffer;
        if (received + chunk.length > limit) {
          overflow = true;
          break;
        }
        received += chunk.length;
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(chunk.length - off, buf.length - fill);
          chunk.copy(buf, fill, off, off + n);
          fill += n;
          off += n;
          if (fill === buf.length) await flush();
        }
      }
      complete = !overflow;
    } catch (err) {
      if (err instanceof SessionConflict) throw err;
      complete = false; // the client went away mid-body: keep what arrived
    }
    if (overflow) {
      // the whole PATCH is refused: back to where it started
      for (const w of written) {
        await this.db.execute(sql`delete from upload_session_part where session_id = ${id} and start = ${w.start}`);
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: w.key })).catch(() => {});
      }
      return { appended: 0, complete: false, overflow: true };
    }
    await flush();
    return { appended: at - offset, complete, overflow: false };
  }

  async commit(id: string, opts: PutOptions): Promise<PutResult> {
    const parts = await this.parts(id);
    const { client, bucket } = this.store;
    let expectedStart = 0;
    for (const p of parts) {
      if (p.start !== expectedStart) throw new Error(`session ${id} has a gap at ${expectedStart}`);
      expectedStart += p.length;
    }
    async function* bytes() {
      for (const p of parts) {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: p.key }));
        let n = 0;
        for await (const c of r.Body as Readable) {
          n += (c as Buffer).length;
          yield c as Buffer;
        }
        if (n !== p.length) throw new Error(`session part ${p.key} has ${n} bytes, expected ${p.length}`);
      }
    }
    const put = await this.store.put(bytes(), opts);
    await this.discard(id); // the blob has the bytes now
    return put;
  }

  async discard(id: string): Promise<void> {
    const { client, bucket } = this.store;
    for (const p of await this.parts(id)) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: p.key })).catch(() => {});
      await this.db.execute(sql`delete from upload_session_part where session_id = ${id} and start = ${p.start}`);
    }
    // objects of a writer that lost a race or died between its PUT and its row
    for await (const key of this.store.keysUnder(this.prefixOf(id))) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => {});
  }

  async list(): Promise<{ id: string; bytes: number }[]> {
    const bytes = new Map<string, number>();
    for await (const key of this.store.keysUnder(`${this.store.prefix}sessions/`)) {
      const id = key.slice(`${this.store.prefix}sessions/`.length).split('/')[0]!;
      if (ID.test(id)) bytes.set(id, 0);
    }
    const r = await rows<{ session_id: string; total: string | number }>(
      this.db,
      sql`select session_id, sum(length) as total from upload_session_part group by session_id`,
    );
    for (const x of r) bytes.set(x.session_id, Number(x.total));
    return [...bytes].map(([id, n]) => ({ id, bytes: n }));
  }
}
