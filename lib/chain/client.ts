import { createPublicClient, defineChain, http, type Chain, type PublicClient } from 'viem';
import { anvil, mainnet, sepolia, base, optimism, arbitrum } from 'viem/chains';

const known: Chain[] = [anvil, mainnet, sepolia, base, optimism, arbitrum];

export function chainFor(chainId: number, rpcUrl: string): Chain {
  const k = known.find((c) => c.id === chainId);
  if (k) return { ...k, rpcUrls: { default: { http: [rpcUrl] } } };
  return defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export function createChainClient(rpcUrl: string, chainId: number): PublicClient {
  return createPublicClient({
    chain: chainFor(chainId, rpcUrl),
    transport: http(rpcUrl, { retryCount: 3, retryDelay: 200, timeout: 15_000 }),
    batch: { multicall: false },
  }) as PublicClient;
}
