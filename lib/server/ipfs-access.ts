import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.ts';
import { isUploader, servingStatus, type ServingStatus } from '../artifacts/catalog.ts';
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

/**
 * A pull asks for a thousand blocks of one blob per GiB: whether that blob is published, gated or
 * revoked is read once per STATUS_TTL_MS per database rather than once per block (measured: the
 * per-block query made parallel raw blocks 2x slower than /api/blobs). A revocation therefore
 * reaches /ipfs/ within STATUS_TTL_MS; the access-token check itself still runs on every request.
 */
const STATUS_TTL_MS = 2000;
type StatusSource = { db: ArtifactRoutesContext['db']; deployment: { chainId: number } };
const statusCache = new WeakMap<object, Map<string, { at: number; s: Promise<ServingStatus> }>>();
/** Forgets the cached statuses (the index moved: a version may have been revoked or published). */
export function invalidateServingStatus(db: object): void {
  statusCache.get(db)?.clear();
}
function cachedServingStatus(ctx: StatusSource, blob: string): Promise<ServingStatus> {
  let m = statusCache.get(ctx.db);
  if (!m) statusCache.set(ctx.db, (m = new Map()));
  const now = Date.now();
  const hit = m.get(blob);
  if (hit && now - hit.at < STATUS_TTL_MS) return hit.s;
  if (m.size > 10_000) m.clear();
  const s = servingStatus(ctx.db, blob, ctx.deployment.chainId);
  m.set(blob, { at: now, s });
  s.catch(() => m.delete(blob));
  return s;
}

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

/**
 * The blob (of those holding a block) whose bytes anyone may have: public, approved and not revoked —
 * what the embedded IPFS node provides over bitswap, which has no access control (lib/ipfs/node.ts).
 * Same status source and TTL as authorizeBlock, so a revocation stops both within STATUS_TTL_MS.
 */
export async function publicBlob(ctx: StatusSource, blobs: string[]): Promise<string | null> {
  for (const blob of blobs) {
    const s = await cachedServingStatus(ctx, blob);
    if (s.kind === 'published' && s.gatedModelIds.length === 0) return blob;
  }
  return null;
}
