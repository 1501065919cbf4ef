import { sql } from 'drizzle-orm';
import { HttpError, sendJson, type Route } from '../http.ts';
import type { BaseContext } from '../context.ts';
import { SLUG_PATTERN } from '../../slug.ts';
import { rows } from '../../artifacts/catalog.ts';
import { pinsOfModel, pinsView } from '../../ipfs/remote-pins.ts';
export type { PinsView } from '../../ipfs/remote-pins.ts';

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
