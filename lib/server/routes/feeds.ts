import { HttpError, type Route } from '../http.ts';
import { isSlug } from '../../slug.ts';
import type { BaseContext } from '../context.ts';
import { proposalsFeed, versionsFeed } from '../../events/feeds.ts';

function sendAtom(res: import('node:http').ServerResponse, xml: string, head: boolean) {
  const body = Buffer.from(xml);
  res.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8', 'content-length': String(body.length), 'cache-control': 'public, max-age=15' });
  res.end(head ? undefined : body);
}

/** Atom feeds: GET /api/feeds/proposals.atom, GET /api/feeds/models/<slug>/versions.atom */
export const routes: Route<BaseContext>[] = [
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/feeds\/proposals\.atom$/,
    async handle(req, res, _p, ctx) {
      sendAtom(
        res,
        await proposalsFeed(ctx.db, { chainId: ctx.deployment.chainId, governor: ctx.deployment.contracts.ModelGovernor, baseUrl: ctx.env.publicBaseUrl }),
        req.method === 'HEAD',
      );
    },
  },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/feeds\/models\/(?<slug>[^/]+)\/versions\.atom$/,
    async handle(req, res, p, ctx) {
      const slug = decodeURIComponent(p.slug!); // the route's pattern has the group
      if (!isSlug(slug)) throw new HttpError(400, 'invalid_slug', 'not a model slug');
      const xml = await versionsFeed(ctx.db, {
        chainId: ctx.deployment.chainId,
        registry: ctx.deployment.contracts.ModelRegistry,
        baseUrl: ctx.env.publicBaseUrl,
        slug,
      });
      if (xml === null) throw new HttpError(404, 'unknown_model', `no model "${slug}"`);
      sendAtom(res, xml, req.method === 'HEAD');
    },
  },
];
