import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { rows, type AnyDb } from './catalog.ts';
import type { LocalArtifactStore } from './store.ts';

// Resumable uploads (tus-style: create, PATCH at an offset, HEAD to learn the offset after a cut).
// The row says who owns the session, how long the file will be and what it should hash to; the
// bytes are `<store>/sessions/<id>.part`, and that file's size *is* the offset, so a session
// survives a server restart or kill -9 with exactly the bytes that reached the disk. The row is
// written before the file exists and removed after the file is gone, so there is never a file
// without a row (a row without a file is a session at offset 0).

/** The part of the store sessions need: a directory on the blobs' file system, and adoption of a finished file. */
export type SessionStore = Pick<LocalArtifactStore, 'sessionDir' | 'putFile'>;

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

export function sessionFile(store: SessionStore, id: string): string {
  if (!ID.test(id)) throw new Error('bad session id');
  return path.join(store.sessionDir, `${id}.part`);
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

/** Bytes received so far: the size of the session's file (0 before the first PATCH; all of them once finished). */
export async function sessionOffset(store: SessionStore, s: Pick<UploadSession, 'id' | 'length' | 'resultSha256'>): Promise<number> {
  if (s.resultSha256) return s.length;
  try {
    return (await fs.promises.stat(sessionFile(store, s.id))).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
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

/** File first, then the row (never a file without a row). */
export async function deleteSession(db: AnyDb, store: SessionStore, id: string): Promise<void> {
  await fs.promises.rm(sessionFile(store, id), { force: true });
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
  // files listed before the rows are read: a session created in between has a row, not a listed file
  const names = await fs.promises.readdir(store.sessionDir).catch(() => [] as string[]);
  const expired = await rows<{ id: string; length: string | number; result_sha256: string | null }>(
    db,
    sql`select id, length, result_sha256 from upload_session where expires_at <= now()`,
  );
  for (const r of expired) {
    const id = r.id;
    out.push({ id, bytes: r.result_sha256 ? 0 : await sessionOffset(store, { id, length: Number(r.length), resultSha256: null }), reason: 'expired' });
    if (!o.dryRun) await deleteSession(db, store, id);
  }
  const known = new Set((await rows<{ id: string }>(db, sql`select id from upload_session`)).map((r) => r.id));
  for (const name of names) {
    const id = name.replace(/\.part$/, '');
    if (known.has(id) || out.some((x) => x.id === id)) continue;
    const file = path.join(store.sessionDir, name);
    const bytes = (await fs.promises.stat(file).catch(() => null))?.size ?? 0;
    out.push({ id, bytes, reason: 'no_session_row' });
    if (!o.dryRun) await fs.promises.rm(file, { force: true });
  }
  return out;
}
