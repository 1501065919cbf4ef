import { sql } from 'drizzle-orm';
import { HttpError, sendJson, type Route } from '../http.ts';
import type { BaseContext } from '../context.ts';
import { SLUG_PATTERN } from '../../slug.ts';
import { rows } from '../../artifacts/catalog.ts';
import { pinsOfModel, type RemotePinRow } from '../../ipfs/remote-pins.ts';

export interface PinsView {
  slug: string;
  /** pinning services configured on this server (names only) */
  services: string[];
  versions: {
    version: number;
    pins: {
      service: string;
      /** '' for the manifest */
      path: string;
      cid: string;
      name: string;
      /** desired: pinned while the version is live and public, unpinned once revoked */
      want: 'pinned' | 'unpinned';
      /** new | sending | queued | pinning | pinned | failed | unpinning | unpinned */
      state: string;
      requestId: string | null;
      error: string | null;
      updatedAt: string;
    }[];
  }[];
}

export function pinsView(slug: string, services: string[], list: RemotePinRow[]): PinsView {
  const byVersion = new Map<number, PinsView['versions'][number]>();
  for (const r of list) {
    let v = byVersion.get(r.version);
    if (!v) byVersion.set(r.version, (v = { version: r.version, pins: [] }));
    v.pins.push({
      service: r.service,
      path: r.path,
      cid: r.cid,
      name: r.name,
      want: r.want,
      state: r.state,
      requestId: r.requestId,
      error: r.lastError,
      updatedAt: r.updatedAt,
    });
  }
  return { slug, services, versions: [...byVersion.values()] };
}

/** GET /api/models/{slug}/pins: where each version is pinned remotely, and how far (db/schema/pins.ts). */
export const routes: Route<BaseContext & { pinningServices: string[] }>[] = [
  {
    methods: ['GET', 'HEAD'],
    pattern: new RegExp(`^/api/models/(?<slug>${SLUG_PATTERN})/pins/?$`),
    async handle(_req, res, params, ctx) {
      const slug = params.slug!;
      const chainId = ctx.deployment.chainId;
      const known = await rows(ctx.db, sql`select 1 from model where chain_id = ${chainId} and slug = ${slug}`);
      if (known.length === 0) throw new HttpError(404, 'unknown_model', `no model "${slug}" is registered`);
      sendJson(res, 200, pinsView(slug, ctx.pinningServices, await pinsOfModel(ctx.db, chainId, slug)), { 'cache-control': 'no-store' });
    },
  },
];
