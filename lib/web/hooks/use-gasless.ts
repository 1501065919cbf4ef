'use client';

import { useCallback, useEffect, useState, useTransition } from 'react';
import { useRouter } from 'next/navigation';
import { useQueryClient } from '@tanstack/react-query';
import { usePublicClient, useConnection, useSignTypedData } from 'wagmi';
import type { Address, Hash } from 'viem';
import { modelGovernorAbi, modelTokenAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/lib/web/app-config-context';
import { describeWalletError } from '@/lib/web/wallet-errors';
import { phaseText as txPhaseText, useDaoTx, waitForIndex, walletNotReady, type TxPhase } from '@/lib/web/hooks/use-dao-tx';
import { domainFromTuple, signBallot, signDelegation, type RelayStatus, type TypedDataSigner } from '@/lib/relay/typed-data';

// Gasless votes and delegations: the member signs an EIP-712 message in the wallet and the server's
// relayer (POST /api/relay/*) pays for the transaction. When the relay is off, out of budget or
// refuses, the same action goes out as an ordinary wallet transaction and the reason is shown.

/** Refusals after which the wallet transaction is the way to go (the member's signature was fine). */
const FALLBACK_CODES = new Set([
  'relay_disabled',
  'over_budget',
  'relayer_out_of_funds',
  'gas_price_too_high',
  'account_limit',
  'proposal_limit',
  'not_eligible',
  'chain_unavailable',
  'not_found',
  'method_not_allowed',
]);

export type GaslessPhase = TxPhase | 'relaying';
export type GaslessVia = 'relay' | 'wallet' | null;

class RelayRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function postRelay(kind: 'vote' | 'delegate', body: unknown): Promise<RelayStatus> {
  let res: Response;
  try {
    res = await fetch(`/api/relay/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    throw new RelayRefused('chain_unavailable', 'the relay could not be reached');
  }
  const json = (await res.json().catch(() => null)) as (RelayStatus & { error?: { code: string; message: string } }) | null;
  if (!res.ok || !json) throw new RelayRefused(json?.error?.code ?? 'relay_disabled', json?.error?.message ?? `the relay answered ${res.status}`);
  return json;
}

/** Polls the relayed request until it is mined (or fails). */
async function followRelay(id: string, onUpdate: (s: RelayStatus) => void): Promise<RelayStatus> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`/api/relay/${id}`, { cache: 'no-store' }).catch(() => null);
    if (res?.ok) {
      const s = (await res.json()) as RelayStatus;
      onUpdate(s);
      if (s.status !== 'submitted') return s;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
  throw new Error('The relayed transaction is taking long; its status will update on this page once mined.');
}

function useGaslessCore() {
  const app = useAppConfig();
  const { address, chainId } = useConnection();
  const client = usePublicClient({ chainId: app.chainId });
  const { mutateAsync: signTypedDataAsync } = useSignTypedData();
  const wallet = useDaoTx();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [phase, setPhase] = useState<GaslessPhase>('idle');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [via, setVia] = useState<GaslessVia>(null);
  const [relayed, setRelayed] = useState<RelayStatus | null>(null);

  useEffect(() => {
    setPhase('idle');
    setError(null);
    setNotice(null);
    setVia(null);
    setRelayed(null);
  }, [address]);

  const sign: TypedDataSigner = useCallback((typed) => signTypedDataAsync(typed as Parameters<typeof signTypedDataAsync>[0]), [signTypedDataAsync]);

  /**
   * Runs `relay` (sign + POST + follow); on a refusal that the wallet can work around, runs
   * `fallback` (an ordinary transaction) with the reason shown. Resolves true once the action is on chain.
   */
  const run = useCallback(
    async (relay: () => Promise<RelayStatus>, fallback: () => Promise<boolean>): Promise<boolean> => {
      setError(null);
      setNotice(null);
      setRelayed(null);
      setVia(null);
      const notReady = walletNotReady(address, chainId, app);
      if (notReady) {
        setError(notReady);
        setPhase('error');
        return false;
      }
      try {
        setVia('relay');
        setPhase('signing');
        const first = await relay();
        setRelayed(first);
        setPhase('relaying');
        const done = first.status === 'submitted' ? await followRelay(first.id, setRelayed) : first;
        if (done.status !== 'mined') throw new Error(done.error?.message ?? `The relayed transaction ${done.status}.`);
        setPhase('indexing');
        if (done.blockNumber !== null) await waitForIndex(BigInt(done.blockNumber));
        await queryClient.invalidateQueries();
        startTransition(() => router.refresh());
        setPhase('done');
        return true;
      } catch (err) {
        if (err instanceof RelayRefused && FALLBACK_CODES.has(err.code)) {
          setVia('wallet');
          setNotice(`Gasless submission is not available (${err.message}). Sending it from your wallet instead; it costs gas.`);
          setPhase('idle');
          return fallback();
        }
        setError(err instanceof RelayRefused ? `The relay refused: ${err.message}` : describeWalletError(err));
        setPhase('error');
        return false;
      }
    },
    [address, chainId, app.chainId, app.chainName, queryClient, router],
  );

  return { app, address, client, sign, wallet, run, phase, error, notice, via, relayed };
}

function view(core: ReturnType<typeof useGaslessCore>) {
  const walletPhase = core.via === 'wallet' ? core.wallet.phase : null;
  const phase: GaslessPhase = walletPhase ?? core.phase;
  const error = core.via === 'wallet' ? core.wallet.error : core.error;
  return {
    phase,
    error,
    /** why the action went out as a wallet transaction (the relay's refusal), if it did */
    notice: core.notice,
    via: core.via,
    /** the relayed request's latest status (tx hash, nonce…) */
    relayed: core.relayed,
    hash: (core.via === 'wallet' ? core.wallet.hash : (core.relayed?.txHash as Hash | null)) ?? null,
    busy: phase === 'simulating' || phase === 'signing' || phase === 'pending' || phase === 'indexing' || phase === 'relaying',
  };
}

/** Votes on a proposal without gas when the relay accepts it, else from the wallet. */
export function useGaslessVote() {
  const core = useGaslessCore();
  const { app, address, client, sign, wallet, run } = core;
  const vote = useCallback(
    (proposalId: bigint, support: 0 | 1 | 2, reason = '') => {
      const governor = app.contracts!.governor;
      return run(
        async () => {
          const [domain, nonce] = await Promise.all([
            client!.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'eip712Domain' }).then(domainFromTuple),
            client!.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'nonces', args: [address!] }),
          ]);
          const body = await signBallot(sign, domain, { proposalId, support, voter: address!, nonce, reason: reason || undefined });
          return postRelay('vote', body);
        },
        () => wallet.run({ address: governor, abi: modelGovernorAbi, functionName: 'castVoteWithReason', args: [proposalId, support, reason] }),
      );
    },
    [app.contracts, address, client, sign, wallet, run],
  );
  return { vote, ...view(core) };
}

/** Signatures last this long; the relayer submits within seconds. */
const DELEGATION_TTL_SECONDS = 3600n;

/**
 * Delegates the connected account's votes to `to` without gas when the relay accepts it, else from
 * the wallet. Stable interface for the delegates pages: `const d = useDelegate(); d.delegate(to)`,
 * then `d.phase`, `d.busy`, `d.error`, `d.notice` (why it fell back to the wallet), `d.via`.
 */
export function useDelegate() {
  const core = useGaslessCore();
  const { app, address, client, sign, wallet, run } = core;
  const delegate = useCallback(
    (to: Address) => {
      const token = app.contracts!.token;
      return run(
        async () => {
          const [domain, nonce, block] = await Promise.all([
            client!.readContract({ address: token, abi: modelTokenAbi, functionName: 'eip712Domain' }).then(domainFromTuple),
            client!.readContract({ address: token, abi: modelTokenAbi, functionName: 'nonces', args: [address!] }),
            client!.getBlock({ blockTag: 'latest' }),
          ]);
          const body = await signDelegation(sign, domain, address!, { delegatee: to, nonce, expiry: block.timestamp + DELEGATION_TTL_SECONDS });
          return postRelay('delegate', body);
        },
        () => wallet.run({ address: token, abi: modelTokenAbi, functionName: 'delegate', args: [to] }),
      );
    },
    [app.contracts, address, client, sign, wallet, run],
  );
  return { delegate, ...view(core) };
}

export function gaslessPhaseText(phase: GaslessPhase, via: GaslessVia): string {
  if (via === 'relay') {
    if (phase === 'signing') return 'Sign the message in your wallet (no gas: the relayer pays)…';
    if (phase === 'relaying') return 'Signed. The relayer is submitting it; waiting for it to be mined…';
  }
  return phase === 'relaying' ? '' : txPhaseText(phase);
}
