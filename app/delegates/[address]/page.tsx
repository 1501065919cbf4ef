import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getDelegateProfile } from '@/lib/web/queries/delegates';
import { getTotalSupply } from '@/lib/web/queries/proposals';
import { formatDateTime, formatTokens, percent } from '@/lib/web/format';
import { Markdown } from '@/app/_components/markdown';
import { Untrusted } from '@/app/_components/untrusted';
import { DelegateToButton } from '../delegate-panel';
import { StatementView } from '../statement-view';
import { StatementForm } from './statement-form';

export const dynamic = 'force-dynamic';

type Params = Promise<{ address: string }>;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SUPPORT = ['Against', 'For', 'Abstain'] as const;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const { address } = await params;
  return { title: ADDRESS.test(address) ? `Delegate ${address.slice(0, 10)}…` : 'Delegate' };
}

export default async function DelegatePage({ params }: { params: Params }) {
  const { address } = await params;
  if (!ADDRESS.test(address)) notFound();
  const [d, supply] = await Promise.all([getDelegateProfile(address), getTotalSupply()]);
  const participation = d.eligibleProposals > 0 ? Math.round((d.votedEligible / d.eligibleProposals) * 100) : null;
  return (
    <>
      <p className="small">
        <Link href="/delegates">← Delegates</Link>
      </p>
      <h1 className="mono" style={{ wordBreak: 'break-all' }} data-testid="delegate-address">
        {d.address}
      </h1>
      <section className="card" aria-labelledby="power-h">
        <h2 id="power-h" style={{ marginTop: 0 }}>
          Voting power
        </h2>
        <dl className="kv">
          <dt>Voting power</dt>
          <dd data-testid="delegate-power">
            {formatTokens(d.votingPower)} votes{supply > 0n ? ` (${percent(BigInt(d.votingPower), supply).toFixed(1)}% of supply)` : ''}
          </dd>
          <dt>Delegators</dt>
          <dd data-testid="delegator-count">{d.delegatorCount}</dd>
          <dt>Participation</dt>
          <dd data-testid="participation">
            {participation === null
              ? 'no proposal since this address had voting power'
              : `${d.votedEligible} of ${d.eligibleProposals} proposals since it had voting power (${participation}%)`}
          </dd>
        </dl>
        <div className="btn-row" style={{ marginTop: 10 }}>
          <DelegateToButton to={d.address} />
        </div>
      </section>

      <section aria-labelledby="statement-h">
        <h2 id="statement-h">Statement</h2>
        {d.statement ? (
          <div className="card">
            <StatementView stored={d.statement} full />
          </div>
        ) : (
          <p className="muted" data-testid="no-statement">
            This address has not published a statement.
          </p>
        )}
        <StatementForm address={d.address} current={d.statement?.statement ?? null} />
      </section>

      <section aria-labelledby="votes-h">
        <h2 id="votes-h">Voting history</h2>
        {d.votes.length === 0 ? (
          <p className="muted">No votes yet.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="delegate-votes">
              <thead>
                <tr>
                  <th>Proposal</th>
                  <th>Vote</th>
                  <th className="num">Weight</th>
                  <th>Reason</th>
                  <th>When</th>
                </tr>
              </thead>
              <tbody>
                {d.votes.map((v) => (
                  <tr key={v.proposalId}>
                    <td>
                      <Link href={`/proposals/${v.proposalId}`}>
                        <Untrusted text={v.title} line max={100} />
                      </Link>
                    </td>
                    <td>{SUPPORT[v.support]}</td>
                    <td className="num">{formatTokens(v.weight)}</td>
                    <td>{v.reason ? <Markdown text={v.reason} /> : <span className="muted">—</span>}</td>
                    <td className="small">{formatDateTime(v.votedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="delegators-h">
        <h2 id="delegators-h">Delegators</h2>
        {d.delegators.length === 0 ? (
          <p className="muted">Nobody delegates to this address.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="delegators">
              <thead>
                <tr>
                  <th>Account</th>
                  <th className="num">Balance</th>
                </tr>
              </thead>
              <tbody>
                {d.delegators.map((x) => (
                  <tr key={x.address}>
                    <td className="mono">
                      <Link href={`/delegates/${x.address}`}>{x.address}</Link>
                      {x.address === d.address ? ' (self)' : ''}
                    </td>
                    <td className="num">{formatTokens(x.balance)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
