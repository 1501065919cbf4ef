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

/**
 * How often clients poll for new blocks and receipts (viem's waitForTransactionReceipt, watch*): on
 * the local dev chain (anvil mines each transaction as it arrives) 100 ms, so a wait ends as the
 * receipt exists instead of at viem's 4 s default tick; elsewhere viem's default (from the block time).
 */
export function pollingIntervalFor(chainId: number): number | undefined {
  return chainId === anvil.id ? 100 : undefined;
}

export function createChainClient(rpcUrl: string, chainId: number): PublicClient {
  return createPublicClient({
    chain: chainFor(chainId, rpcUrl),
    pollingInterval: pollingIntervalFor(chainId),
    transport: http(rpcUrl, { retryCount: 3, retryDelay: 200, timeout: 15_000 }),
    batch: { multicall: false },
  }) as PublicClient;
}
