import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendJson, type Route } from '../http.ts';
import { recordUpload, unpinnedBytes } from '../../artifacts/catalog.ts';
import { SafetensorsError, SafetensorsSniffer, type SafetensorsSummary } from '../../artifacts/safetensors.ts';
import { StoreError } from '../../artifacts/store.ts';
import { uploadVerifier, type ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

// POST /api/uploads — one file, streamed to the store (never buffered), hashed on the way.
// Headers: Authorization: ModelDAO-Upload <signed UploadAuthorization> (required),
//          x-expected-sha256: <64 hex> (optional; mismatch → 422, nothing kept),
//          x-file-name: <name> (optional; *.safetensors → header validated, invalid → 422).
// Response 201 (new) / 200 (already stored): {size, sha256, cid, safetensors?}.

export type { ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function handleUpload(req: IncomingMessage, res: ServerResponse, _p: unknown, ctx: ArtifactRoutesContext) {
  // Errors before or during the body: reply and close, so a client still sending does not hang.
  const fail = (err: HttpError) => new HttpError(err.status, err.code, err.message, { ...err.headers, connection: 'close' });
  let account: string;
  try {
    account = await uploadVerifier(ctx)(req);
  } catch (err) {
    throw err instanceof HttpError ? fail(err) : err;
  }

  let expected = headerValue(req, 'x-expected-sha256')?.trim().toLowerCase();
  if (expected?.startsWith('sha256:')) expected = expected.slice(7);
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw fail(new HttpError(400, 'invalid_expected_sha256', 'x-expected-sha256 must be 64 hex characters'));
  }
  const fileName = headerValue(req, 'x-file-name');
  const declaredLength = headerValue(req, 'content-length');
  const length = declaredLength === undefined ? undefined : Number(declaredLength);
  const { UPLOAD_MAX_BYTES: maxBytes, UPLOAD_QUOTA_BYTES: quota, UPLOAD_TTL_SECONDS: ttl } = ctx.env;
  if (length !== undefined && length > maxBytes) {
    throw fail(new HttpError(413, 'upload_too_large', `upload of ${length} bytes exceeds the limit of ${maxBytes} bytes`));
  }
  const used = await unpinnedBytes(ctx.db, account);
  const room = quota - used;
  if (room <= 0 || (length !== undefined && length > room)) {
    throw fail(new HttpError(413, 'quota_exceeded', `${account} has ${used} bytes of unpinned uploads; the quota is ${quota} bytes (uploads count until a published version pins them or they expire)`));
  }

  const sniffer = new SafetensorsSniffer();
  const strict = fileName !== undefined && /\.safetensors$/i.test(fileName);
  let safetensors: SafetensorsSummary | null = null;
  let put;
  try {
    put = await ctx.store.put(req, {
      expectedSha256: expected,
      maxBytes: Math.min(maxBytes, room),
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
        const code = Math.min(maxBytes, room) === maxBytes ? 'upload_too_large' : 'quota_exceeded';
        throw fail(new HttpError(413, code, err.message));
      }
      if (err.code === 'hash_mismatch') throw fail(new HttpError(422, 'hash_mismatch', err.message));
      throw fail(new HttpError(400, err.code, err.message));
    }
    if (err instanceof SafetensorsError) {
      throw fail(new HttpError(422, 'invalid_safetensors', `${fileName}: ${err.message} [rule ${err.rule}]`));
    }
    if (req.destroyed || req.readableAborted) {
      throw fail(new HttpError(400, 'upload_aborted', 'the client closed the connection before the body was complete'));
    }
    throw err;
  }
  await recordUpload(ctx.db, { sha256: put.sha256, size: put.size, cid: put.cid, kind: 'file', account, ttlSeconds: ttl, safetensors });
  sendJson(res, put.created ? 201 : 200, {
    size: put.size,
    sha256: put.sha256,
    cid: put.cid,
    ...(safetensors ? { safetensors } : {}),
  });
}

export const routes: Route<ArtifactRoutesContext>[] = [
  { methods: ['POST'], pattern: /^\/api\/uploads\/?$/, handle: handleUpload as Route<ArtifactRoutesContext>['handle'] },
];
