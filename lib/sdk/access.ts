import type { Address } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import {
  accessAudience,
  accessTypedData,
  MAX_REQUEST_LIFETIME_SECONDS,
  randomNonce,
  type AccessRequestBody,
  type AccessTokenResponse,
} from '../access/request.ts';
import { ModelDaoError } from './errors.ts';
import { GatewayHttpError, getJson, trimSlash } from './net.ts';

export interface RequestAccessOptions {
  gateway: string;
  account: LocalAccount;
  chainId: number;
  registry: Address;
  modelId: bigint;
  /** Seconds until the signed request expires (≤ 600; default 300). */
  lifetimeSeconds?: number;
}

/**
 * Signs an EIP-712 AccessRequest (domain: modeldao/1, chain id, registry; audience: the gateway's
 * origin) and exchanges it at the gateway's POST /api/access for a short-lived download token.
 * Requests and tokens are per gateway: a gateway cannot replay the request to another server.
 */
export async function requestAccess(opts: RequestAccessOptions): Promise<AccessTokenResponse> {
  let audience: string;
  try {
    audience = accessAudience(opts.gateway);
  } catch {
    throw new ModelDaoError('usage', 'invalid_gateway', `gateway ${JSON.stringify(opts.gateway)} is not a URL`);
  }
  const request = {
    account: opts.account.address,
    modelId: opts.modelId,
    audience,
    nonce: randomNonce(),
    expiry: BigInt(Math.floor(Date.now() / 1000) + Math.min(opts.lifetimeSeconds ?? 300, MAX_REQUEST_LIFETIME_SECONDS)),
  };
  const signature = await opts.account.signTypedData(accessTypedData(opts.chainId, opts.registry, request));
  const body: AccessRequestBody = {
    request: {
      account: request.account,
      modelId: request.modelId.toString(),
      audience: request.audience,
      nonce: request.nonce,
      expiry: request.expiry.toString(),
    },
    domain: { chainId: opts.chainId, verifyingContract: opts.registry },
    signature,
  };
  const url = `${trimSlash(opts.gateway)}/api/access`;
  try {
    return await getJson<AccessTokenResponse>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    if (err instanceof GatewayHttpError && err.status >= 400 && err.status < 500) {
      throw new ModelDaoError('access', err.code ?? 'access_denied', `access refused by ${opts.gateway}: ${err.message}`);
    }
    throw new ModelDaoError('network', 'gateway_failed', `could not request access from ${opts.gateway}: ${err instanceof Error ? err.message : err}`);
  }
}
