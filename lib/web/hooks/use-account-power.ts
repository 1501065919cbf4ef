'use client';

import { useQuery } from '@tanstack/react-query';
import { usePublicClient, useConnection } from 'wagmi';
import { modelTokenAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/lib/web/app-config-context';
import { queryKeys } from '@/lib/web/query-keys';

export interface AccountPower {
  balance: bigint;
  votes: bigint;
  delegate: `0x${string}`;
}

/** Balance, voting power and delegate of the connected account, read live from the token. */
export function useAccountPower() {
  const app = useAppConfig();
  const { address } = useConnection();
  const client = usePublicClient({ chainId: app.chainId });
  const token = app.contracts?.token;
  const query = useQuery({
    queryKey: queryKeys.account(app.chainId, token, address),
    enabled: Boolean(client && token && address),
    queryFn: async (): Promise<AccountPower> => {
      const [balance, votes, delegate] = await Promise.all([
        client!.readContract({ address: token!, abi: modelTokenAbi, functionName: 'balanceOf', args: [address!] }),
        client!.readContract({ address: token!, abi: modelTokenAbi, functionName: 'getVotes', args: [address!] }),
        client!.readContract({ address: token!, abi: modelTokenAbi, functionName: 'delegates', args: [address!] }),
      ]);
      return { balance, votes, delegate };
    },
  });
  const p = query.data;
  return {
    ...query,
    address,
    /** The commonest confusion in DAO tools: tokens, but no votes, because nobody delegated them. */
    needsDelegation: Boolean(p && p.balance > 0n && p.votes === 0n),
  };
}
