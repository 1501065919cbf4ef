import type { IncomingMessage } from 'node:http';
import { getAddress, isAddress, isHex, type Address, type Hex, type PublicClient } from 'viem';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { and, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import { modelRegistryAbi } from '../contracts/generated.ts';
import { accessNonce } from '../../db/schema/access.ts';
import { model, modelAllowlist } from '../../db/schema/indexer.ts';
import { AccessError } from './errors.ts';
import { accessAudience, accessTypedData, MAX_REQUEST_LIFETIME_SECONDS, type AccessRequest, type AccessTokenResponse } from './request.ts';
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
   * Origins this server answers to (its PUBLIC_BASE_URL origin plus configured aliases). A request
   * signed for any other audience is refused. A function when the origin is known only once the
   * server listens.
   */
  audiences: readonly string[] | (() => readonly string[]);
  /**
   * A token older than this is re-checked against `canAccess` on chain (the result is then reused
   * for at most this long). This bounds what the index cannot see: a TokenHolders balance falling
   * below the minimum. Allowlist removals and access-rule changes are read from the index at
   * every download and take effect as soon as they are indexed.
   */
  recheckSeconds: number;
  now?: () => number;
}

const bodySchema = z.object({
  request: z.object({
    account: z.string().refine((a) => isAddress(a, { strict: false }), 'must be an address'),
    modelId: z.union([z.string().regex(/^\d{1,78}$/), z.number().int().nonnegative()]),
    audience: z.string().max(512).optional(),
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
  const audiences = () => new Set((typeof deps.audiences === 'function' ? deps.audiences() : deps.audiences).map(normalizeAudience));
  // (account:modelId) → last on-chain answer and the indexed rule it was given under; bounds chain
  // reads to one per pair per window, unless the indexed rule changes.
  const recheckCache = new Map<string, { checkedAt: number; allowed: boolean; rule: string | null }>();

  async function canAccessOnChain(modelId: bigint, account: Address): Promise<boolean> {
    try {
      return await deps.publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'canAccess', args: [modelId, account] });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/UnknownModel/i.test(msg)) throw new AccessError('not_found', 'unknown_model', `model ${modelId} is not registered`);
      throw new AccessError('unavailable', 'chain_unavailable', `could not read canAccess from the chain: ${msg.split('\n')[0]}`);
    }
  }

  /**
   * The model's access rule and the account's allowlist entry as indexed (null: model not indexed
   * yet). One primary-key read of each table.
   */
  async function indexedRule(modelId: bigint, account: string): Promise<{ rule: string; kind: string; listed: boolean } | null> {
    const [m] = await deps.db
      .select({ kind: model.accessKind, token: model.accessToken, min: model.accessMinBalance })
      .from(model)
      .where(and(eq(model.chainId, deps.chainId), eq(model.modelId, modelId.toString())))
      .limit(1);
    if (!m) return null;
    let listed = false;
    if (m.kind === 'Allowlist') {
      const [a] = await deps.db
        .select({ allowed: modelAllowlist.allowed })
        .from(modelAllowlist)
        .where(and(eq(modelAllowlist.chainId, deps.chainId), eq(modelAllowlist.modelId, modelId.toString()), eq(modelAllowlist.account, account.toLowerCase())))
        .limit(1);
      listed = a?.allowed === true;
    }
    return { rule: `${m.kind}:${String(m.token).toLowerCase()}:${m.min}`, kind: m.kind, listed };
  }

  /**
   * Checks a POST /api/access body: domain (this chain, this registry), expiry (future, ≤10 min),
   * signature (EOA, ERC-1271 or ERC-6492 via viem), single-use nonce, then `canAccess` on chain.
   */
  async function verifyAccessRequest(body: unknown): Promise<AccessRequest> {
    const parsed = bodySchema.safeParse(body);
    if (!parsed.success) {
      throw new AccessError('invalid', 'invalid_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const { request: r, domain, signature } = parsed.data;
    // Requests from clients older than the audience field: refused, with what to do. Verifying them
    // as the old type would keep the replay to another server open for as long as old clients sign.
    if (r.audience === undefined) {
      throw new AccessError(
        'invalid',
        'audience_required',
        `access requests must name their audience (the origin they are posted to: ${[...audiences()][0]}); upgrade the client: the modeldao SDK and CLI sign AccessRequest with an audience field, see GET /api/health for this server's`,
      );
    }
    const audience = normalizeAudience(r.audience);
    if (!audiences().has(audience)) {
      throw new AccessError(
        'unauthenticated',
        'wrong_audience',
        `request was signed for ${JSON.stringify(r.audience.slice(0, 200))}; this server is ${[...audiences()].join(', ')}`,
      );
    }
    if (domain?.chainId !== undefined && domain.chainId !== deps.chainId) {
      throw new AccessError('unauthenticated', 'wrong_chain', `request was signed for chain ${domain.chainId}; this server serves chain ${deps.chainId}`);
    }
    if (domain?.verifyingContract !== undefined && domain.verifyingContract.toLowerCase() !== registry.toLowerCase()) {
      throw new AccessError('unauthenticated', 'wrong_registry', `request was signed for registry ${domain.verifyingContract}; this server serves ${registry}`);
    }
    const request: AccessRequest = {
      account: getAddress(r.account),
      modelId: BigInt(r.modelId),
      // exactly the string that was signed (the check above compared its normal form)
      audience: r.audience,
      nonce: r.nonce.toLowerCase() as Hex,
      expiry: BigInt(r.expiry),
    };
    const t = now();
    if (request.expiry <= BigInt(t)) throw new AccessError('unauthenticated', 'request_expired', `access request expired at ${request.expiry} (now ${t})`);
    if (request.expiry > BigInt(t + MAX_REQUEST_LIFETIME_SECONDS)) {
      throw new AccessError('invalid', 'expiry_too_far', `expiry may be at most ${MAX_REQUEST_LIFETIME_SECONDS} s in the future`);
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
      throw new AccessError(
        'unauthenticated',
        'invalid_signature',
        `signature is not ${request.account}'s AccessRequest for chain ${deps.chainId}, registry ${registry} and audience ${request.audience}`,
      );
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
    if (claimed.length === 0) throw new AccessError('conflict', 'nonce_reused', 'this access request nonce was already used; sign a new request');
    // Expired nonces can go (their requests fail the expiry check anyway); at most once a minute.
    if (t - lastPrune >= 60) {
      lastPrune = t;
      await pruneNonces().catch(() => {});
    }
    if (!(await canAccessOnChain(request.modelId, request.account))) {
      throw new AccessError('forbidden', 'access_denied', `${request.account} may not access model ${request.modelId} under its on-chain access rule`);
    }
    return request;
  }

  /** Issues a token for a verified request (canAccess was true on chain just now). */
  async function issueAccessToken(account: Address, modelId: bigint): Promise<AccessTokenResponse> {
    const issuedAt = now();
    const claims: AccessTokenClaims = { account, modelId, chainId: deps.chainId, registry, issuedAt, expiresAt: issuedAt + deps.tokenTtlSeconds };
    const indexed = await indexedRule(modelId, account);
    recheckCache.set(`${account.toLowerCase()}:${modelId}`, { checkedAt: issuedAt, allowed: true, rule: indexed?.rule ?? null });
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
   * For a blob or manifest of gated models: requires a valid, unexpired token for one of them, then
   * - reads the indexed rule: an account the indexed allowlist no longer holds is refused at once
   *   (revocation takes effect as soon as it is indexed, whatever the token's age);
   * - re-checks `canAccess` on chain when the indexed rule changed since the last check, or when the
   *   token (and the last check) is older than `recheckSeconds` (balances are not indexed).
   * Throws AccessError unauthenticated (missing/invalid/expired token) or forbidden (token for
   * another model, or the rule no longer allows the account).
   */
  async function checkBlobAccess(input: BlobAccessInput): Promise<AccessTokenClaims | null> {
    if (input.modelIds.length === 0) return null;
    if (!input.token) {
      throw new AccessError(
        'unauthenticated',
        'access_token_required',
        'this file belongs to a gated model: exchange a signed AccessRequest at POST /api/access and send the token as "Authorization: Bearer <token>"',
      );
    }
    const claims = readAccessToken(deps.secret, input.token);
    if (!claims || claims.chainId !== deps.chainId || claims.registry !== registry.toLowerCase()) {
      throw new AccessError('unauthenticated', 'invalid_token', 'access token is not valid for this server');
    }
    const t = now();
    if (claims.expiresAt <= t) {
      throw new AccessError('unauthenticated', 'token_expired', `access token expired at ${claims.expiresAt}`);
    }
    if (!input.modelIds.some((m) => m === claims.modelId)) {
      throw new AccessError('forbidden', 'token_wrong_model', `access token is for model ${claims.modelId}, not for a model this file belongs to`);
    }
    const revoked = () => new AccessError('forbidden', 'access_revoked', `${claims.account} no longer passes model ${claims.modelId}'s on-chain access rule`);
    const indexed = await indexedRule(claims.modelId, claims.account);
    if (indexed?.kind === 'Allowlist' && !indexed.listed) throw revoked();
    const key = `${claims.account}:${claims.modelId}`;
    let cached = recheckCache.get(key);
    const ruleChanged = indexed !== null && cached !== undefined && cached.rule !== indexed.rule;
    const stale = t - claims.issuedAt > deps.recheckSeconds && (!cached || t - cached.checkedAt > deps.recheckSeconds);
    if (ruleChanged || stale) {
      cached = { checkedAt: t, allowed: await canAccessOnChain(claims.modelId, claims.account), rule: indexed?.rule ?? null };
      recheckCache.set(key, cached);
    }
    if (cached && !cached.allowed) throw revoked();
    return claims;
  }

  let lastPrune = 0;
  /** Forgets nonces whose requests have expired (a replay would fail the expiry check anyway). */
  async function pruneNonces(): Promise<void> {
    await deps.db.delete(accessNonce).where(lt(accessNonce.expiresAt, new Date(now() * 1000 - 60_000)));
  }

  return {
    chainId: deps.chainId,
    registry,
    audiences: () => [...audiences()],
    recheckSeconds: deps.recheckSeconds,
    verifyAccessRequest,
    issueAccessToken,
    checkBlobAccess,
    canAccessOnChain,
    pruneNonces,
  };
}

/** An audience in the form clients sign it (an origin); anything unparsable stays as given, and matches nothing configured. */
export function normalizeAudience(a: string): string {
  try {
    return accessAudience(a);
  } catch {
    return a;
  }
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
