import type { LocalAccount } from 'viem/accounts';
import { modelRegistryAbi } from '../contracts/generated.ts';
import { requestAccess } from '../sdk/access.ts';
import { connectChain, type ChainOptions } from '../sdk/chain.ts';
import { ModelDaoError } from '../sdk/errors.ts';
import { defaultGateways } from '../sdk/pull.ts';

export interface AccessTokenResult {
  token: string;
  account: string;
  modelId: string;
  slug: string;
  gateway: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * `modeldao access <slug>`: the model id from the registry on chain, then the SDK's requestAccess
 * (EIP-712 AccessRequest signed with the key, exchanged at the gateway's POST /api/access). The token
 * is the gateway's: use it with that gateway (HF_TOKEN for its /hf endpoint, --token for pull).
 */
export async function requestAccessForSlug(opts: ChainOptions & { slug: string; account: LocalAccount; gateway?: string }): Promise<AccessTokenResult> {
  const chain = await connectChain(opts);
  let modelId: bigint;
  try {
    modelId = await chain.client.readContract({ address: chain.registry, abi: modelRegistryAbi, functionName: 'modelIdOf', args: [opts.slug] });
  } catch {
    throw new ModelDaoError('not_found', 'unknown_model', `no model "${opts.slug}" in registry ${chain.registry} on chain ${chain.chainId}`);
  }
  const gateway = opts.gateway ?? defaultGateways()[0]!; // never empty
  const r = await requestAccess({ gateway, account: opts.account, chainId: chain.chainId, registry: chain.registry, modelId });
  return { token: r.token, account: r.account, modelId: r.modelId, slug: opts.slug, gateway, issuedAt: r.issuedAt, expiresAt: r.expiresAt };
}
