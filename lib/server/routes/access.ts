import { readJsonBody, sendJson, type Route } from '../http.ts';
import type { AccessService } from '../../access/service.ts';

/** What this route needs from ServerContext. */
export interface AccessRouteContext {
  access: AccessService;
}

/**
 * POST /api/access — body `{ request: {account, modelId, audience, nonce, expiry}, domain?: {chainId,
 * verifyingContract}, signature }` (EIP-712 AccessRequest, see lib/access/request.ts).
 * 200 → `{ token, account, modelId, issuedAt, expiresAt, recheckAfterSeconds }`.
 */
export const routes: Route<AccessRouteContext>[] = [
  {
    methods: ['POST'],
    pattern: /^\/api\/access\/?$/,
    async handle(req, res, _params, ctx) {
      const body = await readJsonBody(req, 16 * 1024);
      const request = await ctx.access.verifyAccessRequest(body);
      sendJson(res, 200, await ctx.access.issueAccessToken(request.account, request.modelId), { 'cache-control': 'no-store' });
    },
  },
];
