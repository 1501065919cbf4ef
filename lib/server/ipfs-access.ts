import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.ts';
import { isUploader, type ServingStatus } from '../artifacts/catalog.ts';
import { cachedServingStatus } from '../ipfs/serving-status.ts';
export { invalidateServingStatus } from '../ipfs/serving-status.ts';
import { readUploadAuthorization } from '../artifacts/upload-auth.ts';
import { accessChecker, uploadVerifier, type ArtifactRoutesContext } from '../artifacts/routes-context.ts';

/**
 * Cache-Control for /ipfs/ answers, and why (README "IPFS: caching and revocation"):
 * - public, approved content gets the spec's `immutable` year: a CID names the same bytes forever,
 *   IPFS clients and caches rely on it, and the bytes of a public version may already be pinned
 *   anywhere. A later revocation stops *this* gateway at once (410), and modeldao's own clients
 *   check the chain before they fetch, so a cached copy never makes them accept a revoked version.
 * - gated content: `private, no-cache` — a browser may keep it, but must ask again (the access
 *   token may have expired, the version may have been revoked); shared caches never store it.
 * - unpublished uploads: `private, no-store` (like /api/blobs).
 */
export const CACHE_PUBLIC_IMMUTABLE = 'public, max-age=29030400, immutable';
export const CACHE_GATED = 'private, no-cache';
export const CACHE_UPLOADER = 'private, no-store';

export interface BlockGrant {
  /** the blob whose bytes answer the request */
  blob: string;
  cacheControl: string;
}

/**
 * The /api/blobs access rules for a block that may sit in several blobs (identical chunks): served
 * if any blob holding it may be served to this request. Public approved anywhere → anyone; gated →
 * a valid access token for one of those models; only in unpublished uploads → their uploader
 * (upload authorization header), 404 to everyone else; only in revoked versions → 410.
 */
export async function authorizeBlock(req: IncomingMessage, ctx: ArtifactRoutesContext, blobs: string[], what: string): Promise<BlockGrant> {
  const statuses: { blob: string; s: ServingStatus }[] = [];
  for (const blob of blobs) {
    const s = await cachedServingStatus(ctx, blob);
    if (s.kind === 'published' && s.gatedModelIds.length === 0) return { blob, cacheControl: CACHE_PUBLIC_IMMUTABLE };
    statuses.push({ blob, s });
  }
  const gated = statuses.filter((x) => x.s.kind === 'published');
  const staging = statuses.filter((x) => x.s.kind === 'staging');
  let denied: unknown = null;
  if (gated.length > 0) {
    const modelIds = [...new Set(gated.flatMap((x) => (x.s.kind === 'published' ? x.s.gatedModelIds : [])))];
    try {
      await accessChecker(ctx)(req, { modelIds });
      return { blob: gated[0]!.blob, cacheControl: CACHE_GATED };
    } catch (err) {
      denied = err;
    }
  }
  if (staging.length > 0 && readUploadAuthorization(req)) {
    const account = await uploadVerifier(ctx)(req);
    for (const x of staging) if (await isUploader(ctx.db, x.blob, account)) return { blob: x.blob, cacheControl: CACHE_UPLOADER };
  }
  if (denied) throw denied;
  if (statuses.some((x) => x.s.kind === 'revoked')) {
    throw new HttpError(410, 'revoked', `${what} belongs only to revoked versions and is no longer served`);
  }
  // Existence of unpublished uploads is not revealed to others.
  throw new HttpError(404, 'block_not_found', `${what} is not available on this gateway`);
}
