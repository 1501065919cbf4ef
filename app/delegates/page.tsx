import type { Metadata } from 'next';
import { getTopDelegates } from '@/lib/web/queries/delegates';
import { getTotalSupply } from '@/lib/web/queries/proposals';
import { formatTokens, percent } from '@/lib/web/format';
import { DelegatePanel, DelegateToButton } from './delegate-panel';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Delegates' };

export default async function DelegatesPage() {
  const [{ rows, proposalCount }, supply] = await Promise.all([getTopDelegates(100), getTotalSupply()]);
  return (
    <>
      <h1>Delegates</h1>
      <p className="muted">
        Tokens vote only once delegated — to yourself, or to someone you trust to vote for you. Delegating moves no tokens, and you can change it any time; it
        counts for proposals created afterwards.
      </p>
      <DelegatePanel />
      <h2>Top delegates</h2>
      {rows.length === 0 ? (
        <p className="muted">Nobody has delegated yet.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="delegates">
            <thead>
              <tr>
                <th>Delegate</th>
                <th className="num">Voting power</th>
                <th className="num">Share</th>
                <th className="num">Delegators</th>
                <th className="num">Participation</th>
                <th>
                  <span className="sr-only">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.address}>
                  <td className="mono">{d.address}</td>
                  <td className="num">{formatTokens(d.votingPower)}</td>
                  <td className="num">{supply > 0n ? `${percent(BigInt(d.votingPower), supply).toFixed(1)}%` : '—'}</td>
                  <td className="num">{d.delegatorCount}</td>
                  <td className="num">{proposalCount ? `${d.votesCast}/${proposalCount} (${Math.round((d.votesCast / proposalCount) * 100)}%)` : '—'}</td>
                  <td>
                    <DelegateToButton to={d.address} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
