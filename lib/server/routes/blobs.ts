import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { HttpError, type Route } from '../http.ts';
import { sendFileRange } from '../send-file.ts';
import { isUploader, servingStatus } from '../../artifacts/catalog.ts';
import { readUploadAuthorization } from '../../artifacts/upload-auth.ts';
import { accessChecker, uploadVerifier, type ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

// GET/HEAD /api/blobs/{sha256} — the bytes, streamed from the store.
// Served when a published, non-revoked version references the blob (file or manifest bytes); gated
// models go through the access hook. Only revoked versions → 410 (bytes kept, pinned, until a
// governance-approved cleanup). Not published → only its uploaders (same upload authorization
// header as POST /api/uploads), otherwise 404.
//
// Range (RFC 9110 §14): one `bytes=` range → 206 + Content-Range; unsatisfiable → 416 with
// `Content-Range: bytes */size`. Several ranges, or a Range header we cannot parse, are ignored and
// the whole representation is sent (200) — RFC 9110 lets a server ignore Range, and we do not
// produce multipart/byteranges. If-Range that does not match the ETag → 200 full as well.

export type { CheckAccess, ArtifactRoutesContext } from '../../artifacts/routes-context.ts';

type Range = { start: number; end: number };

/** null: serve whole; 'unsatisfiable': 416; otherwise the single range. */
export function parseRange(header: string | undefined, size: number): Range | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null; // malformed or multiple ranges: ignored
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (!Number.isSafeInteger(suffix)) return null;
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  if (b !== '' && end < start) return null; // invalid range-spec: ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

async function handleBlob(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: ArtifactRoutesContext) {
  const sha256 = params.sha256!.toLowerCase(); // the route's pattern has the group
  const stat = await ctx.store.stat(sha256);
  if (!stat) throw new HttpError(404, 'blob_not_found', `no published blob ${sha256}`);
  const serving = await servingStatus(ctx.db, sha256, ctx.deployment.chainId);
  // The bytes never change, but whether they may be served does (revocation): shared caches keep a
  // public blob for at most a minute, then revalidate (304 by ETag) and see a 410.
  let cacheControl = 'public, max-age=60, must-revalidate';
  if (serving.kind === 'revoked') {
    throw new HttpError(410, 'revoked', `blob ${sha256} belongs only to revoked versions and is no longer served`);
  } else if (serving.kind === 'staging') {
    // Existence of unpublished uploads is not revealed to others.
    if (!readUploadAuthorization(req)) throw new HttpError(404, 'blob_not_found', `no published blob ${sha256}`);
    const account = await uploadVerifier(ctx)(req);
    if (!(await isUploader(ctx.db, sha256, account))) throw new HttpError(404, 'blob_not_found', `no published blob ${sha256}`);
    cacheControl = 'private, no-store';
  } else if (serving.gatedModelIds.length > 0) {
    await accessChecker(ctx)(req, { modelIds: serving.gatedModelIds });
    cacheControl = 'private, max-age=0, must-revalidate';
  }

  const etag = `"${sha256}"`;
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    etag,
    'repr-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
    'accept-ranges': 'bytes',
    'cache-control': cacheControl,
  };
  if (stat.cid) headers['x-ipfs-cid'] = stat.cid;

  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }

  const ifRange = req.headers['if-range'] as string | undefined;
  const range = ifRange !== undefined && ifRange.trim() !== etag ? null : parseRange(req.headers.range, stat.size);
  if (range === 'unsatisfiable') {
    throw new HttpError(416, 'range_not_satisfiable', `range ${req.headers.range} is outside the ${stat.size}-byte blob`, {
      'content-range': `bytes */${stat.size}`,
      'accept-ranges': 'bytes',
    });
  }
  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : stat.size;
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${stat.size}`;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  try {
    if (ctx.store.openBlob) {
      const fh = await ctx.store.openBlob(sha256);
      try {
        await sendFileRange(res, fh, range?.start ?? 0, range ? range.end : stat.size - 1);
      } finally {
        await fh.close();
      }
    } else await pipeline(ctx.store.createReadStream(sha256, range ?? undefined), res);
  } catch (err) {
    // Client went away mid-download: nothing to report to it.
    if (!res.destroyed) res.destroy(err as Error);
  }
}

export const routes: Route<ArtifactRoutesContext>[] = [
  { methods: ['GET', 'HEAD'], pattern: /^\/api\/blobs\/(?<sha256>[0-9a-fA-F]{64})\/?$/, handle: handleBlob as Route<ArtifactRoutesContext>['handle'] },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/blobs\/(?<bad>[^/]*)\/?$/,
    handle: (_req, _res, p) => {
      throw new HttpError(400, 'invalid_digest', `"${safeDecode(p.bad ?? '')}" is not a sha256 (64 hex characters)`);
    },
  },
];

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
