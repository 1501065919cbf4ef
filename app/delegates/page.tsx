import type { Metadata } from 'next';
import Link from 'next/link';
import { getStatements, getTopDelegates } from '@/lib/web/queries/delegates';
import { getTotalSupply } from '@/lib/web/queries/proposals';
import { formatTokens, percent } from '@/lib/web/format';
import { DelegatePanel, DelegateToButton } from './delegate-panel';
import { StatementView } from './statement-view';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Delegates' };

export default async function DelegatesPage() {
  const [{ rows, proposalCount }, supply, statements] = await Promise.all([getTopDelegates(100), getTotalSupply(), getStatements()]);
  const listed = new Set(rows.map((d) => d.address));
  const others = Object.values(statements).filter((s) => !listed.has(s.statement.delegate.toLowerCase()));
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
                  <td>
                    <Link className="mono" href={`/delegates/${d.address}`}>
                      {d.address}
                    </Link>
                    {statements[d.address] && <StatementView stored={statements[d.address]!} />}
                  </td>
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
      {others.length > 0 && (
        <>
          <h2>Other statements</h2>
          <p className="muted small">Signed statements from addresses with no voting power delegated to them yet.</p>
          <ul style={{ listStyle: 'none', padding: 0 }} aria-label="Other statements">
            {others.map((s) => (
              <li key={s.statement.delegate} className="card">
                <Link className="mono" href={`/delegates/${s.statement.delegate}`}>
                  {s.statement.delegate}
                </Link>
                <StatementView stored={s} />
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
