import type { IncomingMessage, ServerResponse } from 'node:http';
import { asHttpError, HttpError, sendJson, type Route } from '../http.ts';
import { recordUpload, unpinnedBytes } from '../../artifacts/catalog.ts';
import { recordDag } from '../../ipfs/dag.ts';
import { openSessionBytes } from '../../artifacts/sessions.ts';
import { claimAll, type ClaimSpec } from '../../artifacts/upload-claims.ts';
import { SafetensorsError, SafetensorsSniffer, type SafetensorsSummary } from '../../artifacts/safetensors.ts';
import { SHA256_HEX, StoreError, type PutOptions, type PutResult } from '../../artifacts/store.ts';
import { uploadVerifier, type ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

// POST /api/uploads — one file, streamed to the store (never buffered), hashed on the way.
// Headers: Authorization: ModelDAO-Upload <signed UploadAuthorization> (required),
//          x-expected-sha256: <64 hex> (optional; mismatch → 422, nothing kept),
//          x-file-name: <name> (optional; *.safetensors → header validated, invalid → 422).
// Response 201 (new) / 200 (already stored): {size, sha256, cid, safetensors?}.

export type { ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Errors before or during the body: reply and close, so a client still sending does not hang. */
export function closing(err: HttpError): HttpError {
  return new HttpError(err.status, err.code, err.message, { ...err.headers, connection: 'close' });
}

/** The upload authorization's account (lowercase); a refusal closes the connection like any upload error. */
export async function uploadAccount(req: IncomingMessage, ctx: ArtifactRoutesContext): Promise<string> {
  try {
    return (await uploadVerifier(ctx)(req)).toLowerCase();
  } catch (err) {
    const http = asHttpError(err);
    throw http ? closing(http) : err;
  }
}

/** x-expected-sha256 (bare hex or sha256:…) and x-file-name of an upload request. */
export function uploadHeaders(req: IncomingMessage): { expected?: string; fileName?: string } {
  let expected = headerValue(req, 'x-expected-sha256')?.trim().toLowerCase();
  if (expected?.startsWith('sha256:')) expected = expected.slice(7);
  if (expected !== undefined && !SHA256_HEX.test(expected)) {
    throw closing(new HttpError(400, 'invalid_expected_sha256', 'x-expected-sha256 must be 64 hex characters'));
  }
  return { expected, fileName: headerValue(req, 'x-file-name') };
}

/** The concurrent-upload slot's claim: refuses with 429 when the account holds all of its slots. */
function slotSpec(ctx: ArtifactRoutesContext, account: string): ClaimSpec<{ bytes: number; room: number }> {
  const max = ctx.env.UPLOAD_MAX_CONCURRENT_PER_ACCOUNT ?? 4;
  return {
    kind: 'slot',
    decide: (_tx, n) => {
      if (n >= max) {
        throw closing(
          new HttpError(429, 'too_many_uploads', `${account} already has ${n} uploads in progress (at most ${max} at once); wait for one to finish`, {
            'retry-after': '5',
          }),
        );
      }
      return { bytes: 0, room: 0 };
    },
  };
}

/** The quota reservation's claim (`length` bytes, 0 when unknown): refuses with 413 when there is no room. */
function quotaSpec(ctx: ArtifactRoutesContext, account: string, length: number | undefined): ClaimSpec<{ bytes: number; room: number }> {
  const key = account.toLowerCase();
  const quota = ctx.env.UPLOAD_QUOTA_BYTES;
  return {
    kind: 'quota',
    decide: async (tx, reserved) => {
      const stored = (await unpinnedBytes(tx, key)) + (await openSessionBytes(tx, key));
      const used = stored + reserved;
      const room = quota - used;
      if (room <= 0 || (length !== undefined && length > room)) {
        throw closing(
          new HttpError(
            413,
            'quota_exceeded',
            `${account} has ${used} bytes of unpinned uploads, open upload sessions and uploads in progress; the quota is ${quota} bytes (uploads count until a published version pins them or they expire)`,
          ),
        );
      }
      return { bytes: length ?? 0, room };
    },
  };
}

/**
 * Takes one of the account's UPLOAD_MAX_CONCURRENT_PER_ACCOUNT upload slots for the duration of a
 * body, or refuses with 429 (and closes, so the client stops sending): a few slow clients of one
 * account cannot hold every connection, temp file and quota reservation. The slots are counted
 * across every app server on the database (lib/artifacts/upload-claims.ts). Call the returned
 * release exactly once.
 */
export async function uploadSlot(ctx: ArtifactRoutesContext, account: string): Promise<() => Promise<void>> {
  const { claim: slot } = await claimAll(ctx.db, account, [slotSpec(ctx, account)]);
  return () => slot.release();
}

/**
 * Room left in the account's quota of unpinned bytes (unfinished resumable sessions and uploads in
 * flight on any app server count too); 413 when none. With a `length`, that much is reserved until
 * `release()`, which must run after the upload's own row is committed (then the row counts instead).
 */
export async function quotaRoom(
  ctx: ArtifactRoutesContext,
  account: string,
  length: number | undefined,
): Promise<{ room: number; release: () => Promise<void> }> {
  const { claim: reservation, decided } = await claimAll(ctx.db, account, [quotaSpec(ctx, account, length)]);
  return { room: decided[0]!.room, release: () => reservation.release() };
}

/**
 * An upload slot (429 when none) and the quota reservation (413 when no room) in one database
 * transaction, released together by `release()` (after the upload's own row is committed).
 */
export async function uploadClaims(
  ctx: ArtifactRoutesContext,
  account: string,
  length: number | undefined,
): Promise<{ room: number; release: () => Promise<void> }> {
  const { claim: both, decided } = await claimAll(ctx.db, account, [slotSpec(ctx, account), quotaSpec(ctx, account, length)]);
  return { room: decided[1]!.room, release: () => both.release() };
}

/**
 * Commits an upload through the store (streamed or an adopted file) with the checks every upload
 * gets: expected sha256, size/quota limit, safetensors header (strict for *.safetensors names),
 * then records it and answers {size, sha256, cid, safetensors?} (201 new, 200 already stored).
 */
export async function commitUpload(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ArtifactRoutesContext,
  o: {
    account: string;
    expected?: string;
    fileName?: string;
    maxBytes: number;
    room: number;
    put: (opts: PutOptions) => Promise<PutResult>;
    /** after the blob is stored and recorded, before the answer goes out */
    committed?: (put: PutResult) => Promise<void>;
  },
): Promise<void> {
  const sniffer = new SafetensorsSniffer();
  const strict = o.fileName !== undefined && /\.safetensors$/i.test(o.fileName);
  let safetensors: SafetensorsSummary | null = null;
  let put: PutResult;
  try {
    put = await o.put({
      expectedSha256: o.expected,
      maxBytes: Math.min(o.maxBytes, o.room),
      tap: sniffer.push,
      beforeCommit: ({ size }) => {
        if (strict) safetensors = sniffer.parse(size);
        else if (sniffer.looksLikeSafetensors(size)) {
          try {
            safetensors = sniffer.parse(size);
          } catch {
            safetensors = null; // not declared as safetensors: just no summary
          }
        }
      },
    });
  } catch (err) {
    if (err instanceof StoreError) {
      if (err.code === 'too_large') {
        const code = Math.min(o.maxBytes, o.room) === o.maxBytes ? 'upload_too_large' : 'quota_exceeded';
        throw closing(new HttpError(413, code, err.message));
      }
      if (err.code === 'hash_mismatch') throw closing(new HttpError(422, 'hash_mismatch', err.message));
      throw closing(new HttpError(400, err.code, err.message));
    }
    if (err instanceof SafetensorsError) {
      throw closing(new HttpError(422, 'invalid_safetensors', `${o.fileName}: ${err.message} [rule ${err.rule}]`));
    }
    // the client going away surfaces as the request stream's 'aborted' error; disk or worker
    // failures are the server's (500), whatever state the request stream is in
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'ECONNRESET' || e?.message === 'aborted' || /^request body idle/.test(e?.message ?? '')) {
      throw closing(new HttpError(400, 'upload_aborted', 'the client closed the connection before the body was complete'));
    }
    throw err;
  }
  await recordUpload(ctx.db, {
    sha256: put.sha256,
    size: put.size,
    cid: put.cid,
    kind: 'file',
    account: o.account,
    ttlSeconds: ctx.env.UPLOAD_TTL_SECONDS,
    safetensors,
  });
  await recordDag(ctx.db, put);
  await o.committed?.(put);
  sendJson(res, put.created ? 201 : 200, {
    size: put.size,
    sha256: put.sha256,
    cid: put.cid,
    ...(safetensors ? { safetensors } : {}),
  });
}

async function handleUpload(req: IncomingMessage, res: ServerResponse, _p: unknown, ctx: ArtifactRoutesContext) {
  const account = await uploadAccount(req, ctx);
  const { expected, fileName } = uploadHeaders(req);
  const declaredLength = headerValue(req, 'content-length');
  const length = declaredLength === undefined ? undefined : Number(declaredLength);
  const maxBytes = ctx.env.UPLOAD_MAX_BYTES;
  if (length !== undefined && length > maxBytes) {
    throw closing(new HttpError(413, 'upload_too_large', `upload of ${length} bytes exceeds the limit of ${maxBytes} bytes`));
  }
  const { room, release } = await uploadClaims(ctx, account, length);
  try {
    // released before the answer goes out, so the client's next upload (to any server) sees the blob row alone
    await commitUpload(req, res, ctx, { account, expected, fileName, maxBytes, room, put: (opts) => ctx.store.put(req, opts), committed: release });
  } finally {
    await release(); // recorded by now (or failed): the blob row counts instead
  }
}

export const routes: Route<ArtifactRoutesContext>[] = [
  { methods: ['POST'], pattern: /^\/api\/uploads\/?$/, handle: handleUpload as Route<ArtifactRoutesContext>['handle'] },
];
