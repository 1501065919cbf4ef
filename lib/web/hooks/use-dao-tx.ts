'use client';

import { useCallback, useEffect, useState, useTransition } from 'react';
import { useRouter } from 'next/navigation';
import { useQueryClient } from '@tanstack/react-query';
import { usePublicClient, useWriteContract, useConnection } from 'wagmi';
import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, Hash } from 'viem';
import { useAppConfig } from '@/lib/web/app-config-context';
import { describeWalletError } from '@/lib/web/wallet-errors';

/**
 * One contract write, typed by the generated ABI (lib/contracts/generated.ts): a function name the
 * ABI has not, or arguments of the wrong shape, fail `tsc` (tests/types/dao-write.test-d.ts).
 */
export type DaoWrite<abi extends Abi, functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>> = {
  address: Address;
  abi: abi;
  functionName: functionName;
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;
  value?: bigint;
};

export type TxPhase = 'idle' | 'simulating' | 'signing' | 'pending' | 'indexing' | 'done' | 'error';

/** Waits until the server's index includes `block` (custom server's /api/health), then re-renders the page. */
export async function waitForIndex(block: bigint) {
  for (let i = 0; i < 40; i++) {
    try {
      const res = await fetch('/api/health', { cache: 'no-store' });
      if (res.status === 404) {
        await new Promise((r) => setTimeout(r, 1500));
        return;
      }
      const h = (await res.json()) as { indexedBlock?: number | null };
      if (h.indexedBlock !== null && h.indexedBlock !== undefined && BigInt(h.indexedBlock) >= block) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * One contract write as members experience it: simulate first (reverts shown in words before the
 * wallet prompt), sign, wait for the receipt, wait for the index, refresh server-rendered data and
 * live queries.
 */
/** Why the connected wallet cannot act yet (none connected, or on another chain), or null. */
export function walletNotReady(address: Address | undefined, chainId: number | undefined, app: { chainId: number; chainName: string }): string | null {
  if (!address) return 'Connect a wallet first.';
  if (chainId !== app.chainId) return `Your wallet is on the wrong network: switch to ${app.chainName} (chain id ${app.chainId}).`;
  return null;
}

export function useDaoTx() {
  const app = useAppConfig();
  const { address, chainId } = useConnection();
  const client = usePublicClient({ chainId: app.chainId });
  const write = useWriteContract();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [phase, setPhase] = useState<TxPhase>('idle');
  const [error, setError] = useState<string | null>(null);
  const [hash, setHash] = useState<Hash | null>(null);

  // A different account starts with a clean slate (no "You voted" carried over from the last one).
  useEffect(() => {
    setPhase('idle');
    setError(null);
    setHash(null);
  }, [address]);

  const run = useCallback(
    async <const abi extends Abi, functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>>(req: DaoWrite<abi, functionName>) => {
      setError(null);
      setHash(null);
      const notReady = walletNotReady(address, chainId, app);
      if (notReady) {
        setError(notReady);
        setPhase('error');
        return false;
      }
      try {
        setPhase('simulating');
        await client!.simulateContract({ ...req, account: address });
        setPhase('signing');
        // wagmi's parameter type follows the app's registered config and cannot follow a generic ABI;
        // the call was typed by DaoWrite above and checked by the simulation.
        const h = await write.mutateAsync({ ...req, chainId: app.chainId } as Parameters<typeof write.mutateAsync>[0]);
        setHash(h);
        setPhase('pending');
        const receipt = await client!.waitForTransactionReceipt({ hash: h });
        if (receipt.status !== 'success') throw new Error('The transaction reverted on chain.');
        setPhase('indexing');
        await waitForIndex(receipt.blockNumber);
        await queryClient.invalidateQueries();
        startTransition(() => router.refresh());
        setPhase('done');
        return true;
      } catch (err) {
        setError(describeWalletError(err));
        setPhase('error');
        return false;
      }
    },
    [address, chainId, app.chainId, app.chainName, client, write, queryClient, router],
  );

  return { run, phase, error, hash, busy: phase === 'simulating' || phase === 'signing' || phase === 'pending' || phase === 'indexing' };
}

export function phaseText(phase: TxPhase): string {
  switch (phase) {
    case 'simulating':
      return 'Checking the transaction…';
    case 'signing':
      return 'Confirm in your wallet…';
    case 'pending':
      return 'Transaction sent, waiting for it to be mined…';
    case 'indexing':
      return 'Mined. Updating the page…';
    case 'done':
      return 'Done.';
    default:
      return '';
  }
}
