import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendJson, type Route } from '../http.ts';
import { closing, commitUpload, headerValue, quotaRoom, uploadAccount, uploadHeaders, uploadSlot } from './uploads.ts';
import {
  createSession,
  deleteSession,
  finishSession,
  getSession,
  sessionBytes,
  SessionConflict,
  sessionOffset,
  touchSession,
  type SessionBytes,
  type UploadSession,
} from '../../artifacts/sessions.ts';
import { LocalArtifactStore } from '../../artifacts/store.ts';
import { S3ArtifactStore } from '../../artifacts/s3-store.ts';
import { getBlob } from '../../artifacts/catalog.ts';
import type { ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

// Resumable uploads for multi-GB files (tus-style; lib/artifacts/sessions.ts keeps the state):
//   POST   /api/uploads/sessions        Upload-Length: <bytes> (+ x-expected-sha256, x-file-name)
//          → 201 {id, offset: 0, length, expiresAt}, Location: /api/uploads/sessions/<id>
//   HEAD   /api/uploads/sessions/<id>   → Upload-Offset, Upload-Length; the resume probe: it ends a
//          PATCH still in progress on the session and answers once its bytes are on disk
//   GET    /api/uploads/sessions/<id>   → the same as JSON, without touching a PATCH in progress
//   PATCH  /api/uploads/sessions/<id>   Upload-Offset: <current offset>, body = the next bytes
//          → 204 + Upload-Offset while bytes are missing; when the last byte arrives the file is
//            hashed and checked like POST /api/uploads and the answer is the same
//            {size, sha256, cid, safetensors?} (201/200)
//   DELETE /api/uploads/sessions/<id>   → 204, bytes discarded
// A finished session stays until it expires: HEAD shows the full offset, and an empty PATCH at that
// offset answers with the same result again (for a client whose last response was lost).
// Every request carries the same upload authorization as POST /api/uploads, and a session is only
// visible to its account (others get 404). One request writes to a session at a time: a new PATCH,
// HEAD or DELETE cuts off the one in progress (usually a dead connection) and waits for it. If a PATCH is cut off, the bytes that arrived are kept:
// HEAD says where to go on. A wrong Upload-Offset is a 409 carrying the right one.

/** The request writing to each session in this process (one writer per session), and when it is done. */
const busy = new Map<string, { req: IncomingMessage; done: Promise<void> }>();
/** Sessions whose last byte is in and whose file is being hashed and moved into the store. */
const committing = new Set<string>();

/**
 * Takes a session for `req`. A request already on it is cut off first: the client that sends a new
 * PATCH (or DELETE) has given up on the old one, which is typically a dead connection (tus does the
 * same). The old request keeps what it had received, and the new one waits until it is done.
 */
async function lock(id: string, req: IncomingMessage): Promise<() => void> {
  for (let held = busy.get(id); held; held = busy.get(id)) {
    if (!committing.has(id)) held.req.destroy(); // a commit in progress is waited for, not cut off
    await held.done;
  }
  let release!: () => void;
  busy.set(id, { req, done: new Promise<void>((r) => (release = r)) });
  return () => {
    busy.delete(id);
    release();
  };
}

function sessionStore(ctx: ArtifactRoutesContext): SessionBytes {
  if (!(ctx.store instanceof LocalArtifactStore) && !(ctx.store instanceof S3ArtifactStore)) {
    throw new HttpError(501, 'resumable_uploads_unsupported', 'this store backend does not support resumable uploads; use POST /api/uploads');
  }
  return sessionBytes(ctx.store, ctx.db);
}

function nonNegativeInteger(req: IncomingMessage, name: string): number {
  const raw = headerValue(req, name);
  if (raw === undefined) throw closing(new HttpError(400, `${name.replace(/-/g, '_')}_required`, `the ${name} header is required`));
  if (!/^\d{1,16}$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw closing(new HttpError(400, `invalid_${name.replace(/-/g, '_')}`, `${name} must be a non-negative integer`));
  }
  return Number(raw);
}

/** The caller's own live session; someone else's or an unknown one is the same 404. */
async function ownSession(ctx: ArtifactRoutesContext, id: string, who: string): Promise<UploadSession> {
  const s = await getSession(ctx.db, id);
  if (!s || s.account !== who) throw closing(new HttpError(404, 'upload_session_not_found', `no open upload session ${id}`));
  return s;
}

function describe(s: UploadSession, offset: number) {
  return {
    id: s.id,
    offset,
    length: s.length,
    expiresAt: s.expiresAt.toISOString(),
    ...(s.fileName ? { fileName: s.fileName } : {}),
    ...(s.resultSha256 ? { sha256: s.resultSha256 } : {}),
  };
}

function offsetHeaders(s: UploadSession, offset: number): Record<string, string> {
  return { 'upload-offset': String(offset), 'upload-length': String(s.length), 'upload-expires': s.expiresAt.toUTCString(), 'cache-control': 'no-store' };
}

async function handleCreate(req: IncomingMessage, res: ServerResponse, _p: unknown, ctx: ArtifactRoutesContext) {
  sessionStore(ctx); // 501 before anything else when the backend cannot do this
  const who = await uploadAccount(req, ctx);
  const length = nonNegativeInteger(req, 'upload-length');
  const { expected, fileName } = uploadHeaders(req);
  const maxBytes = ctx.env.UPLOAD_MAX_BYTES;
  if (length > maxBytes) throw closing(new HttpError(413, 'upload_too_large', `upload of ${length} bytes exceeds the limit of ${maxBytes} bytes`));
  const { release } = await quotaRoom(ctx, who, length);
  let s: UploadSession;
  try {
    s = await createSession(ctx.db, { account: who, length, expectedSha256: expected, fileName, ttlSeconds: ctx.env.UPLOAD_TTL_SECONDS });
  } finally {
    await release(); // the session row counts from now on
  }
  sendJson(res, 201, describe(s, 0), { location: `/api/uploads/sessions/${s.id}`, ...offsetHeaders(s, 0) });
}

async function handleStatus(req: IncomingMessage, res: ServerResponse, p: { id: string }, ctx: ArtifactRoutesContext) {
  const store = sessionStore(ctx);
  const who = await uploadAccount(req, ctx);
  let s = await ownSession(ctx, p.id, who);
  let offset: number;
  if (committing.has(s.id)) {
    offset = s.length; // the finished file is being moved into the store: neither a part file nor a result yet
  } else if (req.method === 'HEAD') {
    // HEAD is the resume probe: a client asks only when it gave up on its PATCH, so one still in
    // progress here (a dead connection) is ended, and the answer waits until its bytes are on disk.
    const unlock = await lock(s.id, req);
    try {
      s = await ownSession(ctx, p.id, who);
      offset = committing.has(s.id) ? s.length : await sessionOffset(store, s);
    } finally {
      unlock();
    }
  } else {
    offset = await sessionOffset(store, s);
  }
  if (req.method === 'HEAD') {
    res.writeHead(200, offsetHeaders(s, offset));
    res.end();
    return;
  }
  sendJson(res, 200, describe(s, offset), offsetHeaders(s, offset));
}

async function handleDelete(req: IncomingMessage, res: ServerResponse, p: { id: string }, ctx: ArtifactRoutesContext) {
  const store = sessionStore(ctx);
  const who = await uploadAccount(req, ctx);
  const unlock = await lock((await ownSession(ctx, p.id, who)).id, req);
  try {
    const s = await ownSession(ctx, p.id, who); // again: it may have finished or gone meanwhile
    if (committing.has(s.id)) throw closing(new HttpError(409, 'upload_session_busy', 'the upload is being committed'));
    await deleteSession(ctx.db, store, s.id);
  } finally {
    unlock();
  }
  res.writeHead(204);
  res.end();
}

/**
 * A PATCH to a finished session (the client's last answer was lost, or it asks again): the body
 * must be empty, and the answer is the blob the file became, as when it finished.
 */
async function answerFinished(req: IncomingMessage, res: ServerResponse, ctx: ArtifactRoutesContext, s: UploadSession) {
  for await (const c of req) {
    if ((c as Buffer).length > 0)
      throw closing(new HttpError(413, 'beyond_upload_length', `the session is complete (${s.length} bytes)`, offsetHeaders(s, s.length)));
  }
  const blob = await getBlob(ctx.db, s.resultSha256!);
  if (!blob) throw new HttpError(410, 'upload_gone', `the blob this session became (${s.resultSha256}) has been collected; upload the file again`);
  sendJson(
    res,
    200,
    { size: blob.size, sha256: blob.sha256, cid: blob.cid, ...(blob.safetensors ? { safetensors: blob.safetensors } : {}) },
    offsetHeaders(s, s.length),
  );
}

async function handlePatch(req: IncomingMessage, res: ServerResponse, p: { id: string }, ctx: ArtifactRoutesContext) {
  const who = await uploadAccount(req, ctx);
  const releaseSlot = await uploadSlot(ctx, who); // counts against the account's concurrent uploads
  try {
    await patchSession(req, res, p, ctx, who);
  } finally {
    await releaseSlot();
  }
}

async function patchSession(req: IncomingMessage, res: ServerResponse, p: { id: string }, ctx: ArtifactRoutesContext, who: string) {
  const store = sessionStore(ctx);
  const unlock = await lock((await ownSession(ctx, p.id, who)).id, req);
  try {
    if (req.destroyed) return; // this request was itself replaced while it waited
    const s = await ownSession(ctx, p.id, who); // again, now that no other request writes to it
    const offset = await sessionOffset(store, s);
    const claimed = nonNegativeInteger(req, 'upload-offset');
    if (claimed !== offset) {
      throw closing(new HttpError(409, 'offset_mismatch', `the session has ${offset} bytes; send Upload-Offset: ${offset}`, offsetHeaders(s, offset)));
    }
    if (s.resultSha256) return await answerFinished(req, res, ctx, s);
    const declared = headerValue(req, 'content-length');
    if (declared !== undefined && offset + Number(declared) > s.length) {
      throw closing(
        new HttpError(
          413,
          'beyond_upload_length',
          `${declared} bytes at offset ${offset} would pass the session's length of ${s.length}`,
          offsetHeaders(s, offset),
        ),
      );
    }
    let r: Awaited<ReturnType<SessionBytes['append']>>;
    try {
      r = await store.append(s.id, offset, req, s.length - offset);
    } catch (err) {
      // another server took the session at this offset (a PATCH sent there meanwhile): ask again
      if (!(err instanceof SessionConflict)) throw err;
      const now = await sessionOffset(store, s);
      throw closing(new HttpError(409, 'offset_mismatch', `${err.message}; the session has ${now} bytes`, offsetHeaders(s, now)));
    }
    if (r.overflow) {
      throw closing(new HttpError(413, 'beyond_upload_length', `the body passes the session's length of ${s.length} bytes`, offsetHeaders(s, offset)));
    }
    const now = offset + r.appended;
    const live = { ...s, expiresAt: await touchSession(ctx.db, s.id, ctx.env.UPLOAD_TTL_SECONDS) };
    if (!r.complete) {
      if (!res.destroyed) throw closing(new HttpError(400, 'upload_aborted', `the body was cut off; the session has ${now} bytes`, offsetHeaders(live, now)));
      return;
    }
    if (now < s.length) {
      res.writeHead(204, offsetHeaders(live, now));
      res.end();
      return;
    }
    // The last byte is in: hash, check and adopt the file like a single-request upload. A failed
    // check (hash mismatch, invalid safetensors) ends the session: those bytes can never be right.
    committing.add(s.id);
    try {
      await commitUpload(req, res, ctx, {
        account: who,
        expected: s.expectedSha256 ?? undefined,
        fileName: s.fileName ?? undefined,
        maxBytes: ctx.env.UPLOAD_MAX_BYTES,
        room: Number.MAX_SAFE_INTEGER, // counted when the session was opened
        put: (opts) => store.commit(s.id, opts),
        committed: (put) => finishSession(ctx.db, s.id, put.sha256),
      });
    } catch (err) {
      // Bytes that fail a check can never become right; anything else (disk, worker) may pass on a retry.
      if (err instanceof HttpError && (err.code === 'hash_mismatch' || err.code === 'invalid_safetensors' || err.status === 413)) {
        await deleteSession(ctx.db, store, s.id);
      }
      throw err;
    } finally {
      committing.delete(s.id);
    }
  } finally {
    unlock();
  }
}

export const routes: Route<ArtifactRoutesContext>[] = [
  { methods: ['POST'], pattern: /^\/api\/uploads\/sessions\/?$/, handle: handleCreate as Route<ArtifactRoutesContext>['handle'] },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/uploads\/sessions\/(?<id>[0-9a-f]{32})$/,
    handle: handleStatus as unknown as Route<ArtifactRoutesContext>['handle'],
  },
  { methods: ['PATCH'], pattern: /^\/api\/uploads\/sessions\/(?<id>[0-9a-f]{32})$/, handle: handlePatch as unknown as Route<ArtifactRoutesContext>['handle'] },
  {
    methods: ['DELETE'],
    pattern: /^\/api\/uploads\/sessions\/(?<id>[0-9a-f]{32})$/,
    handle: handleDelete as unknown as Route<ArtifactRoutesContext>['handle'],
  },
];
