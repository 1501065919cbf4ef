import type { Address, Hex } from 'viem';

// The EIP-712 AccessRequest a consumer signs to fetch a gated model. Shared by the server
// (verification) and the SDK/CLI (signing), so it must not import anything server-side.

export const ACCESS_DOMAIN_NAME = 'modeldao';
export const ACCESS_DOMAIN_VERSION = '1';
/** A request may not expire further ahead than this; keeps a leaked signature short-lived. */
export const MAX_REQUEST_LIFETIME_SECONDS = 600;

export const accessRequestTypes = {
  AccessRequest: [
    { name: 'account', type: 'address' },
    { name: 'modelId', type: 'uint256' },
    { name: 'audience', type: 'string' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const;

export type AccessRequest = {
  account: Address;
  modelId: bigint;
  /**
   * The origin of the server the request is posted to (`https://models.example.org`, see
   * `accessAudience`). A server refuses a request signed for another audience, so a gateway that
   * receives the request cannot replay it to another server of the same DAO.
   */
  audience: string;
  /** 32 random bytes; single-use. */
  nonce: Hex;
  /** Unix seconds. */
  expiry: bigint;
};

export function accessDomain(chainId: number, registry: Address) {
  return {
    name: ACCESS_DOMAIN_NAME,
    version: ACCESS_DOMAIN_VERSION,
    chainId,
    verifyingContract: registry,
  } as const;
}

/** The typed-data payload for viem's signTypedData / verifyTypedData. */
export function accessTypedData(chainId: number, registry: Address, request: AccessRequest) {
  return {
    domain: accessDomain(chainId, registry),
    types: accessRequestTypes,
    primaryType: 'AccessRequest' as const,
    message: request,
  };
}

/**
 * The audience a client signs for the server at `url`: its origin (scheme, host, port; lowercase, no
 * default port, no path). The server compares the same normal form (see its /api/health `audience`).
 */
export function accessAudience(url: string): string {
  return new URL(url).origin;
}

/** JSON body of POST /api/access (bigints as decimal strings). */
export interface AccessRequestBody {
  request: { account: string; modelId: string; audience: string; nonce: string; expiry: string };
  /** Domain the client signed over; checked against the server's chain and registry. */
  domain?: { chainId?: number; verifyingContract?: string };
  signature: string;
}

export interface AccessTokenResponse {
  token: string;
  account: Address;
  modelId: string;
  issuedAt: number;
  expiresAt: number;
  /** A token older than this many seconds makes the server re-check canAccess on chain. */
  recheckAfterSeconds: number;
}

export function randomNonce(): Hex {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return `0x${Buffer.from(bytes).toString('hex')}`;
}
