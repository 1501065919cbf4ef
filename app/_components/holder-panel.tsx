'use client';

import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useConnection, usePublicClient } from 'wagmi';
import { modelGovernorAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/lib/web/app-config-context';
import { useAccountPower } from '@/lib/web/hooks/use-account-power';
import { queryKeys } from '@/lib/web/query-keys';
import { formatTokens } from '@/lib/web/format';
import { displayLine } from '@/lib/web/untrusted-text';

export interface OpenProposal {
  id: string;
  title: string;
  timeText: string;
}

const ZERO = /^0x0{40}$/;

/**
 * The connected holder's part of the home page: voting power, delegate, and the open proposals this
 * account has not voted on (governor.hasVoted, read live so a vote shows at once, not after indexing).
 */
export function HolderPanel({ open }: { open: OpenProposal[] }) {
  const app = useAppConfig();
  const { address, status } = useConnection();
  const power = useAccountPower();
  const client = usePublicClient({ chainId: app.chainId });
  const governor = app.contracts?.governor;
  const ids = open.map((p) => p.id);
  const voted = useQuery({
    queryKey: queryKeys.votedOn(app.chainId, governor, address, ids),
    enabled: Boolean(client && governor && address && ids.length > 0),
    queryFn: async () => {
      const answers = await Promise.all(
        ids.map((id) => client!.readContract({ address: governor!, abi: modelGovernorAbi, functionName: 'hasVoted', args: [BigInt(id), address!] })),
      );
      return new Set(ids.filter((_, i) => answers[i]));
    },
  });

  if (status !== 'connected' || !address) {
    return (
      <section className="card" aria-labelledby="holder-h">
        <h2 id="holder-h" style={{ marginTop: 0 }}>
          Your votes
        </h2>
        <p>Connect a wallet (top right) to see your voting power, your delegate and the proposals waiting for your vote.</p>
      </section>
    );
  }
  const d = power.data;
  const self = d && d.delegate.toLowerCase() === address.toLowerCase();
  const waiting = voted.data ? open.filter((p) => !voted.data.has(p.id)) : null;
  return (
    <section className="card" aria-labelledby="holder-h" data-testid="holder-panel">
      <h2 id="holder-h" style={{ marginTop: 0 }}>
        Your votes
      </h2>
      {!d ? (
        <p>Loading…</p>
      ) : (
        <dl className="kv">
          <dt>Voting power</dt>
          <dd data-testid="home-voting-power">
            {formatTokens(d.votes)} votes ({formatTokens(d.balance)} {app.tokenSymbol} held)
          </dd>
          <dt>Delegate</dt>
          <dd className="mono" data-testid="home-delegate">
            {ZERO.test(d.delegate) ? (
              <>
                nobody yet — <Link href="/delegates">delegate to vote</Link>
              </>
            ) : self ? (
              'yourself'
            ) : (
              <Link href={`/delegates/${d.delegate}`}>{d.delegate}</Link>
            )}
          </dd>
        </dl>
      )}
      <h3>Waiting for your vote</h3>
      {open.length === 0 ? (
        <p className="muted">No proposal is open for voting.</p>
      ) : !waiting ? (
        <p>Loading…</p>
      ) : waiting.length === 0 ? (
        <p className="muted" data-testid="nothing-waiting">
          You have voted on every open proposal.
        </p>
      ) : (
        <ul data-testid="unvoted-proposals">
          {waiting.map((p) => (
            <li key={p.id} data-testid="unvoted-proposal">
              <Link href={`/proposals/${p.id}`}>
                <bdi className="untrusted">{displayLine(p.title, 100)}</bdi>
              </Link>{' '}
              <span className="small muted">{p.timeText}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
