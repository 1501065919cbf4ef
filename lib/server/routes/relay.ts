import { readJsonBody, sendJson, type Route } from '../http.ts';
import type { BaseContext } from '../context.ts';
import type { Relayer } from '../../relay/relayer.ts';

export interface RelayRouteContext {
  relayer: Relayer;
}

const NO_STORE = { 'cache-control': 'no-store' };

/**
 * Gasless voting and delegation (lib/relay/relayer.ts):
 *   POST /api/relay/vote      {proposalId, support, voter, nonce, reason?, params?, signature}
 *   POST /api/relay/delegate  {delegator, delegatee, nonce, expiry, signature}
 *     → 202 {id, status: 'submitted', txHash, …} (200 with the same request when the signature was relayed before)
 *   GET  /api/relay/{id}      the request's status (submitted → mined | reverted | failed)
 *   GET  /api/relay/policy    the operator's policy and today's spending
 */
export const routes: Route<BaseContext & RelayRouteContext>[] = [
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/relay\/policy\/?$/,
    async handle(_req, res, _params, ctx) {
      sendJson(res, 200, await ctx.relayer.policy(), NO_STORE);
    },
  },
  {
    methods: ['POST'],
    pattern: /^\/api\/relay\/(?<kind>vote|delegate)\/?$/,
    async handle(req, res, params, ctx) {
      const body = await readJsonBody(req, 64 * 1024);
      const r = params.kind === 'vote' ? await ctx.relayer.relayVote(body) : await ctx.relayer.relayDelegate(body);
      sendJson(res, r.created ? 202 : 200, r.status, { ...NO_STORE, location: `/api/relay/${r.status.id}` });
    },
  },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/relay\/(?<id>[^/]+)\/?$/,
    async handle(_req, res, params, ctx) {
      sendJson(res, 200, await ctx.relayer.status(params.id!), NO_STORE);
    },
  },
];
