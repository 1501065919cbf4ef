import 'server-only';
import { cache } from 'react';
import type { PublicClient } from 'viem';
import { createChainClient } from '@/lib/chain/client';
import { loadDeployment, type Deployment } from '@/lib/contracts/deployment';
import { getEnv } from '@/lib/web/server-env';

const holder = globalThis as unknown as { __modeldaoWebChain?: PublicClient };

export function getChainClient(): PublicClient {
  const env = getEnv();
  holder.__modeldaoWebChain ??= createChainClient(env.rpcUrl, env.CHAIN_ID);
  return holder.__modeldaoWebChain;
}

export const getDeployment = cache((): Deployment | null => {
  try {
    return loadDeployment(getEnv().deploymentFile);
  } catch {
    return null;
  }
});

/**
 * "Now" in the governor's clock (ERC-6372 timestamp = block time). On anvil, time moves when tests
 * advance it, not with the wall clock, so states are derived against the latest block's time.
 * Falls back to the wall clock when the chain does not answer.
 */
export const getChainNow = cache(async (): Promise<{ now: number; fromChain: boolean }> => {
  try {
    const block = await getChainClient().getBlock({ blockTag: 'latest' });
    return { now: Number(block.timestamp), fromChain: true };
  } catch {
    return { now: Math.floor(Date.now() / 1000), fromChain: false };
  }
});
