'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useConnection, usePublicClient } from 'wagmi';
import { modelGovernorAbi } from '@/lib/contracts/generated';
import { ProposalState, proposalStateName } from '@/lib/chain/proposal-state';
import { useAppConfig } from '@/lib/web/app-config-context';
import { queryKeys } from '@/lib/web/query-keys';
import { useAccountPower } from '@/lib/web/hooks/use-account-power';
import { phaseText, useDaoTx } from '@/lib/web/hooks/use-dao-tx';
import { gaslessPhaseText, useGaslessVote } from '@/lib/web/hooks/use-gasless';
import { formatDateTime, formatTokens } from '@/lib/web/format';

const SUPPORT_LABEL = { 1: 'For', 0: 'Against', 2: 'Abstain' } as const;

interface Props {
  id: string;
  indexedState: ProposalState;
  voteStart: number;
  eta: number | null;
  targets: string[];
  values: string[];
  calldatas: string[];
  descriptionHash: `0x${string}`;
}

/** Live state from the governor, and what the connected account can do now: vote, queue, execute, cancel. */
export function ProposalControls(props: Props) {
  const app = useAppConfig();
  const { address, status } = useConnection();
  const client = usePublicClient({ chainId: app.chainId });
  const governor = app.contracts?.governor;
  const power = useAccountPower();
  const tx = useDaoTx();
  // votes go through the relayer (no gas) when it accepts them, else from the wallet
  const gv = useGaslessVote();
  const [support, setSupport] = useState<0 | 1 | 2>(1);
  const [reason, setReason] = useState('');
  const [lastVote, setLastVote] = useState<0 | 1 | 2 | null>(null);
  // another account is another voter: neither the last vote nor a reason typed for it carries over
  useEffect(() => {
    setLastVote(null);
    setReason('');
  }, [address]);

  const live = useQuery({
    queryKey: queryKeys.proposalLive(app.chainId, governor, props.id),
    enabled: Boolean(client && governor),
    refetchInterval: 4_000,
    queryFn: async () => {
      const id = BigInt(props.id);
      const [state, block] = await Promise.all([
        client!.readContract({ address: governor!, abi: modelGovernorAbi, functionName: 'state', args: [id] }),
        client!.getBlock({ blockTag: 'latest' }),
      ]);
      return { state: Number(state) as ProposalState, chainTime: Number(block.timestamp) };
    },
  });

  const receipt = useQuery({
    queryKey: queryKeys.receipt(app.chainId, governor, props.id, address),
    enabled: Boolean(client && governor && address),
    queryFn: async () => {
      const id = BigInt(props.id);
      const hasVoted = await client!.readContract({ address: governor!, abi: modelGovernorAbi, functionName: 'hasVoted', args: [id, address!] });
      let snapshotVotes: bigint | null = null;
      try {
        snapshotVotes = await client!.readContract({
          address: governor!,
          abi: modelGovernorAbi,
          functionName: 'getVotes',
          args: [address!, BigInt(props.voteStart)],
        });
      } catch {
        snapshotVotes = null; // snapshot still in the future
      }
      return { hasVoted, snapshotVotes };
    },
  });

  const state = live.data?.state ?? props.indexedState;
  const chainTime = live.data?.chainTime ?? null;
  const isGuardian = Boolean(address && app.proposalGuardian && address.toLowerCase() === app.proposalGuardian.toLowerCase());
  // The index keeps the ProposalCreated event's address[] and bytes[] as the chain emitted them (0x hex).
  const args = [props.targets as `0x${string}`[], props.values.map((v) => BigInt(v)), props.calldatas as `0x${string}`[], props.descriptionHash] as const;
  const call = (functionName: 'queue' | 'execute' | 'cancel') => tx.run({ address: governor!, abi: modelGovernorAbi, functionName, args });

  const vote = async (e: React.FormEvent) => {
    e.preventDefault();
    setLastVote(support);
    const ok = await gv.vote(BigInt(props.id), support, reason.trim());
    if (!ok) setLastVote(null);
  };

  const needsDelegation = power.data && power.data.balance > 0n && receipt.data?.snapshotVotes === 0n;
  const etaReached = props.eta !== null && chainTime !== null && chainTime >= props.eta;
  // A countdown to the ETA, ticking between the 4-second chain reads: the chain's time at the last read
  // plus what the local clock says has passed since (the button itself waits for the chain).
  // (the local clock is read in the interval, never during render: render stays pure)
  const [localNow, setLocalNow] = useState(() => Date.now());
  const counting = state === ProposalState.Queued && props.eta !== null && chainTime !== null && !etaReached;
  useEffect(() => {
    if (!counting) return;
    const t = setInterval(() => setLocalNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [counting]);
  const etaLeft = counting ? props.eta! - (chainTime! + Math.max(0, Math.floor((localNow - live.dataUpdatedAt) / 1000))) : null;

  return (
    <section className="card" aria-labelledby="act-h" data-testid="proposal-controls">
      <h2 id="act-h" style={{ marginTop: 0 }}>
        {state === ProposalState.Active ? 'Vote' : 'Status'}
      </h2>
      <p className="small">
        On chain now: <strong data-testid="live-state">{live.data ? proposalStateName(state) : '…'}</strong>
        {live.data && live.data.state !== props.indexedState && <span className="muted"> (the page is catching up)</span>}
      </p>

      {state === ProposalState.Active && (
        <>
          {status !== 'connected' ? (
            <p>Connect a wallet (top right) to vote.</p>
          ) : receipt.data?.hasVoted || (gv.phase === 'done' && lastVote !== null) ? (
            <p className="notice-ok" data-testid="voted">
              You voted{lastVote !== null ? ` ${SUPPORT_LABEL[lastVote]}` : ''} on this proposal.
            </p>
          ) : needsDelegation ? (
            <div className="notice-warn" data-testid="delegate-first">
              <p style={{ marginTop: 0 }}>
                <strong>You have tokens but no voting power — delegate first.</strong>
              </p>
              <p>
                You hold {formatTokens(power.data!.balance)} {app.tokenSymbol}, but votes count only once delegated (to yourself or someone you trust). This
                proposal took its snapshot at {formatDateTime(props.voteStart)}, so delegating now counts from the next proposal on.
              </p>
              <Link href="/delegates" className="btn">
                Delegate on the Delegates page
              </Link>
            </div>
          ) : receipt.data?.snapshotVotes === 0n ? (
            <p className="muted">This account had no voting power when voting opened, so it cannot vote on this proposal.</p>
          ) : (
            <form onSubmit={vote}>
              <fieldset>
                <legend>Your vote</legend>
                {([1, 0, 2] as const).map((s) => (
                  <label key={s} style={{ display: 'block' }}>
                    <input type="radio" name="support" value={s} checked={support === s} onChange={() => setSupport(s)} /> {SUPPORT_LABEL[s]}
                  </label>
                ))}
              </fieldset>
              <label className="field">
                <span>
                  Reason <span className="hint">(optional, public, Markdown)</span>
                </span>
                <textarea value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} name="reason" />
              </label>
              <button type="submit" className="btn btn-primary" disabled={tx.busy || gv.busy || !receipt.data}>
                {gv.busy && lastVote !== null
                  ? `Voting ${SUPPORT_LABEL[lastVote]}…`
                  : `Vote ${SUPPORT_LABEL[support]}${receipt.data?.snapshotVotes ? ` with ${formatTokens(receipt.data.snapshotVotes)} votes` : ''}`}
              </button>
            </form>
          )}
        </>
      )}

      {state === ProposalState.Pending && (
        <>
          <p>Voting opens after {formatDateTime(props.voteStart)}. Voting power is counted at that moment.</p>
          {power.needsDelegation && (
            <p className="notice-warn" data-testid="delegate-first">
              You have tokens but no voting power — <Link href="/delegates">delegate first</Link>, before voting opens, to vote on this proposal.
            </p>
          )}
        </>
      )}

      {state === ProposalState.Succeeded && (
        <>
          <p>It passed. Queue it in the timelock; anyone can, and it can be executed after the delay.</p>
          <button type="button" className="btn btn-primary" onClick={() => call('queue')} disabled={tx.busy || status !== 'connected'}>
            Queue
          </button>
          {status !== 'connected' && <p className="small muted">Connect a wallet to send the transaction.</p>}
        </>
      )}

      {state === ProposalState.Queued && (
        <>
          <p>
            Queued. {etaReached ? 'The delay is over: anyone can execute it now.' : `Executable after ${formatDateTime(props.eta)} (ETA).`}
            {etaLeft !== null && (
              <span data-testid="eta-countdown" aria-live="off">
                {' '}
                {etaLeft > 0 ? `${formatCountdown(etaLeft)} to go.` : 'Any moment now (waiting for the next block).'}
              </span>
            )}
          </p>
          <button type="button" className="btn btn-primary" onClick={() => call('execute')} disabled={tx.busy || status !== 'connected' || !etaReached}>
            Execute
          </button>
          {!etaReached && <p className="small muted">The button unlocks at the ETA.</p>}
        </>
      )}

      {state === ProposalState.Defeated && (
        <p data-testid="defeated-note">
          Defeated: quorum was not reached or more votes were Against than For. It cannot be queued or executed; submit a new proposal to try again.
        </p>
      )}
      {state === ProposalState.Executed && <p>Executed: its actions are in effect.</p>}
      {state === ProposalState.Canceled && <p>Canceled: it can no longer be executed.</p>}

      {isGuardian && [ProposalState.Pending, ProposalState.Active, ProposalState.Succeeded, ProposalState.Queued].includes(state) && (
        <div style={{ marginTop: 12 }}>
          <button
            type="button"
            className="btn btn-danger"
            disabled={tx.busy}
            onClick={() => {
              if (window.confirm('Cancel this proposal as the guardian? It can never be executed afterwards.')) void call('cancel');
            }}
          >
            Cancel proposal (guardian)
          </button>
        </div>
      )}

      {gv.notice && (
        <p role="status" className="small notice-warn" data-testid="relay-fallback">
          {gv.notice}
        </p>
      )}
      {gv.phase !== 'idle' && gv.phase !== 'error' && (
        <p role="status" className="small" data-testid="vote-status">
          {gaslessPhaseText(gv.phase, gv.via)}
          {gv.via === 'relay' && gv.relayed?.txHash && (
            <>
              {' '}
              Relayed transaction <code className="mono">{gv.relayed.txHash.slice(0, 10)}…</code> ({gv.relayed.status}).
            </>
          )}
        </p>
      )}
      {gv.error && (
        <p role="alert" className="error" data-testid="vote-error">
          {gv.error}
        </p>
      )}
      {tx.phase !== 'idle' && tx.phase !== 'error' && (
        <p role="status" className="small" data-testid="tx-status">
          {phaseText(tx.phase)}
        </p>
      )}
      {tx.error && (
        <p role="alert" className="error" data-testid="tx-error">
          {tx.error}
        </p>
      )}
    </section>
  );
}

/** 3725 → "1 h 2 min 5 s" */
function formatCountdown(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [d && `${d} d`, h && `${h} h`, m && `${m} min`, !d && `${s} s`].filter(Boolean).join(' ');
}
