import type { IncomingMessage } from 'node:http';
import { getAddress, isAddress, isHex, type Address, type Hex, type PublicClient } from 'viem';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { lt } from 'drizzle-orm';
import { z } from 'zod';
import { HttpError } from '../server/http.ts';
import { modelRegistryAbi } from '../contracts/generated.ts';
import { accessNonce } from '../../db/schema/access.ts';
import { accessTypedData, MAX_REQUEST_LIFETIME_SECONDS, type AccessRequest, type AccessTokenResponse } from './request.ts';
import { readAccessToken, signAccessToken, type AccessTokenClaims } from './token.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any driver (PGlite, node-postgres) and schema: drizzle's generics share no common supertype
export type AnyPgDatabase = PgDatabase<any, any, any>;

export interface AccessDeps {
  chainId: number;
  registry: Address;
  publicClient: PublicClient;
  db: AnyPgDatabase;
  secret: Buffer;
  /** Lifetime of an issued token. */
  tokenTtlSeconds: number;
  /**
   * A token older than this is re-checked against `canAccess` on chain (the result is then reused
   * for at most this long). So removing an account from the allowlist, or its balance dropping
   * below the minimum, takes effect for downloads within this many seconds.
   */
  recheckSeconds: number;
  now?: () => number;
}

const bodySchema = z.object({
  request: z.object({
    account: z.string().refine((a) => isAddress(a, { strict: false }), 'must be an address'),
    modelId: z.union([z.string().regex(/^\d{1,78}$/), z.number().int().nonnegative()]),
    nonce: z.string().refine((n) => isHex(n) && n.length === 66, 'must be 32 bytes hex'),
    expiry: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]),
  }),
  domain: z.object({ chainId: z.number().int().optional(), verifyingContract: z.string().optional() }).optional(),
  signature: z.string().refine((s) => isHex(s) && s.length >= 4, 'must be hex'),
});

export interface BlobAccessInput {
  /** Bearer token from the request, if any. */
  token: string | undefined;
  /** Gated models whose versions reference the blob; a token for any one of them is enough. */
  modelIds: bigint[];
}

export type AccessService = ReturnType<typeof createAccessService>;

export function createAccessService(deps: AccessDeps) {
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const registry = getAddress(deps.registry);
  // (account:modelId) → last on-chain answer; bounds chain reads to one per pair per window.
  const recheckCache = new Map<string, { checkedAt: number; allowed: boolean }>();

  async function canAccessOnChain(modelId: bigint, account: Address): Promise<boolean> {
    try {
      return await deps.publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'canAccess', args: [modelId, account] });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/UnknownModel/i.test(msg)) throw new HttpError(404, 'unknown_model', `model ${modelId} is not registered`);
      throw new HttpError(502, 'chain_unavailable', `could not read canAccess from the chain: ${msg.split('\n')[0]}`);
    }
  }

  /**
   * Checks a POST /api/access body: domain (this chain, this registry), expiry (future, ≤10 min),
   * signature (EOA, ERC-1271 or ERC-6492 via viem), single-use nonce, then `canAccess` on chain.
   */
  async function verifyAccessRequest(body: unknown): Promise<AccessRequest> {
    const parsed = bodySchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const { request: r, domain, signature } = parsed.data;
    if (domain?.chainId !== undefined && domain.chainId !== deps.chainId) {
      throw new HttpError(401, 'wrong_chain', `request was signed for chain ${domain.chainId}; this server serves chain ${deps.chainId}`);
    }
    if (domain?.verifyingContract !== undefined && domain.verifyingContract.toLowerCase() !== registry.toLowerCase()) {
      throw new HttpError(401, 'wrong_registry', `request was signed for registry ${domain.verifyingContract}; this server serves ${registry}`);
    }
    const request: AccessRequest = {
      account: getAddress(r.account),
      modelId: BigInt(r.modelId),
      nonce: r.nonce.toLowerCase() as Hex,
      expiry: BigInt(r.expiry),
    };
    const t = now();
    if (request.expiry <= BigInt(t)) throw new HttpError(401, 'request_expired', `access request expired at ${request.expiry} (now ${t})`);
    if (request.expiry > BigInt(t + MAX_REQUEST_LIFETIME_SECONDS)) {
      throw new HttpError(400, 'expiry_too_far', `expiry may be at most ${MAX_REQUEST_LIFETIME_SECONDS} s in the future`);
    }
    let valid = false;
    try {
      valid = await deps.publicClient.verifyTypedData({
        address: request.account,
        ...accessTypedData(deps.chainId, registry, request),
        signature: signature as Hex,
      });
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new HttpError(401, 'invalid_signature', `signature is not ${request.account}'s AccessRequest for chain ${deps.chainId} and registry ${registry}`);
    }
    // Claim the nonce only after the signature checks out, so nobody can burn someone else's nonces.
    const claimed = await deps.db
      .insert(accessNonce)
      .values({
        chainId: deps.chainId,
        registry: registry.toLowerCase(),
        account: request.account.toLowerCase(),
        nonce: request.nonce,
        modelId: request.modelId.toString(),
        expiresAt: new Date(Number(request.expiry) * 1000),
      })
      .onConflictDoNothing()
      .returning({ nonce: accessNonce.nonce });
    if (claimed.length === 0) throw new HttpError(409, 'nonce_reused', 'this access request nonce was already used; sign a new request');
    // Expired nonces can go (their requests fail the expiry check anyway); at most once a minute.
    if (t - lastPrune >= 60) {
      lastPrune = t;
      await pruneNonces().catch(() => {});
    }
    if (!(await canAccessOnChain(request.modelId, request.account))) {
      throw new HttpError(403, 'access_denied', `${request.account} may not access model ${request.modelId} under its on-chain access rule`);
    }
    return request;
  }

  function issueAccessToken(account: Address, modelId: bigint): AccessTokenResponse {
    const issuedAt = now();
    const claims: AccessTokenClaims = { account, modelId, chainId: deps.chainId, registry, issuedAt, expiresAt: issuedAt + deps.tokenTtlSeconds };
    recheckCache.set(`${account.toLowerCase()}:${modelId}`, { checkedAt: issuedAt, allowed: true });
    return {
      token: signAccessToken(deps.secret, claims),
      account,
      modelId: modelId.toString(),
      issuedAt,
      expiresAt: claims.expiresAt,
      recheckAfterSeconds: deps.recheckSeconds,
    };
  }

  /**
   * For a blob or manifest of gated models: requires a valid, unexpired token for one of them, and
   * re-checks `canAccess` on chain when the token is older than `recheckSeconds`.
   * Throws HttpError 401 (missing/invalid/expired token) or 403 (token for another model, or the
   * on-chain rule no longer allows the account).
   */
  async function checkBlobAccess(input: BlobAccessInput): Promise<AccessTokenClaims | null> {
    if (input.modelIds.length === 0) return null;
    if (!input.token) {
      throw new HttpError(401, 'access_token_required', 'this file belongs to a gated model: exchange a signed AccessRequest at POST /api/access and send the token as "Authorization: Bearer <token>"', {
        'www-authenticate': 'Bearer realm="modeldao"',
      });
    }
    const claims = readAccessToken(deps.secret, input.token);
    if (!claims || claims.chainId !== deps.chainId || claims.registry !== registry.toLowerCase()) {
      throw new HttpError(401, 'invalid_token', 'access token is not valid for this server', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    const t = now();
    if (claims.expiresAt <= t) {
      throw new HttpError(401, 'token_expired', `access token expired at ${claims.expiresAt}`, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (!input.modelIds.some((m) => m === claims.modelId)) {
      throw new HttpError(403, 'token_wrong_model', `access token is for model ${claims.modelId}, not for a model this file belongs to`);
    }
    if (t - claims.issuedAt > deps.recheckSeconds) {
      const key = `${claims.account}:${claims.modelId}`;
      let cached = recheckCache.get(key);
      if (!cached || t - cached.checkedAt > deps.recheckSeconds) {
        cached = { checkedAt: t, allowed: await canAccessOnChain(claims.modelId, claims.account) };
        recheckCache.set(key, cached);
      }
      if (!cached.allowed) {
        throw new HttpError(403, 'access_revoked', `${claims.account} no longer passes model ${claims.modelId}'s on-chain access rule`);
      }
    }
    return claims;
  }

  let lastPrune = 0;
  /** Forgets nonces whose requests have expired (a replay would fail the expiry check anyway). */
  async function pruneNonces(): Promise<void> {
    await deps.db.delete(accessNonce).where(lt(accessNonce.expiresAt, new Date(now() * 1000 - 60_000)));
  }

  return { chainId: deps.chainId, registry, recheckSeconds: deps.recheckSeconds, verifyAccessRequest, issueAccessToken, checkBlobAccess, canAccessOnChain, pruneNonces };
}

/** Bearer token from `Authorization: Bearer …` or, for plain curl/wget use, `?access_token=…`. */
export function tokenFromRequest(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('access_token') ?? undefined;
}
