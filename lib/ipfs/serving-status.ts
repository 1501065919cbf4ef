import { servingStatus, type AnyDb, type ServingStatus } from '../artifacts/catalog.ts';

// Whether a blob may be served, cached briefly: shared by the /ipfs/ gateway's access check
// (lib/server/ipfs-access.ts) and the embedded IPFS node's blockstore (lib/ipfs/node.ts), so a
// revocation stops both within the same STATUS_TTL_MS.

/**
 * A pull asks for a thousand blocks of one blob per GiB: whether that blob is published, gated or
 * revoked is read once per STATUS_TTL_MS per database rather than once per block (measured: the
 * per-block query made parallel raw blocks 2x slower than /api/blobs). A revocation therefore
 * reaches /ipfs/ within STATUS_TTL_MS; the access-token check itself still runs on every request.
 */
const STATUS_TTL_MS = 2000;
export type StatusSource = { db: AnyDb; deployment: { chainId: number } };
const statusCache = new WeakMap<object, Map<string, { at: number; s: Promise<ServingStatus> }>>();
/** Forgets the cached statuses (the index moved: a version may have been revoked or published). */
export function invalidateServingStatus(db: object): void {
  statusCache.get(db)?.clear();
  generations.set(db, statusGeneration(db) + 1);
}
const generations = new WeakMap<object, number>();
/** Moves on at every invalidation: caches built on these statuses (the IPFS node's) compare it. */
export function statusGeneration(db: object): number {
  return generations.get(db) ?? 0;
}
export function cachedServingStatus(ctx: StatusSource, blob: string): Promise<ServingStatus> {
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
