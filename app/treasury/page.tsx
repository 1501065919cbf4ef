import type { Metadata } from 'next';
import Link from 'next/link';
import { getTreasury } from '@/lib/web/queries/treasury';
import { getTokenSymbol } from '@/lib/web/queries/token';
import { formatDateTime, formatTokens } from '@/lib/web/format';
import { proposalTitle } from '@/lib/web/actions';
import { Untrusted } from '@/app/_components/untrusted';
import { displayLine } from '@/lib/web/untrusted-text';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Treasury' };

export default async function TreasuryPage() {
  const [t, symbol] = await Promise.all([getTreasury(), getTokenSymbol()]);
  if (!t) return <p className="error">No deployment record: the treasury cannot be read.</p>;
  const others = new Map(t.otherTokens.map((o) => [o.address, o]));
  const amount = (x: (typeof t.transfers)[number]) => {
    if (x.asset === 'ETH') return `${formatTokens(x.value)} ETH`;
    if (x.asset === 'token') return `${formatTokens(x.value)} ${symbol}`;
    const o = others.get(x.tokenAddress ?? '');
    return o?.decimals != null ? `${formatTokens(x.value, o.decimals)} ${displayLine(o.symbol ?? 'tokens', 24)}` : `${x.value} (raw units)`;
  };
  return (
    <>
      <h1>Treasury</h1>
      <p className="muted">
        The DAO&apos;s money sits in its timelock (<span className="mono">{t.timelock}</span>) and moves only when a proposal passes. Figures are at indexed
        block <span data-testid="treasury-block">{t.block ?? '—'}</span>.
      </p>
      <section className="card" aria-labelledby="bal-h">
        <h2 id="bal-h" style={{ marginTop: 0 }}>
          Balances
        </h2>
        <dl className="kv">
          <dt>{symbol} (governance token)</dt>
          <dd data-testid="treasury-token">{formatTokens(t.tokenBalance)}</dd>
          <dt>ETH</dt>
          <dd data-testid="treasury-eth">{formatTokens(t.ethBalance)}</dd>
          <dt>{symbol} received / paid out</dt>
          <dd>
            {formatTokens(t.tokenIn)} / {formatTokens(t.tokenOut)}
          </dd>
        </dl>
        <p className="small muted">ETH sent to the timelock leaves no event, so only ETH paid out by proposals is listed below.</p>
      </section>

      <section aria-labelledby="other-h">
        <h2 id="other-h">Other tokens</h2>
        {t.otherTokens.length === 0 ? (
          <p className="muted">The timelock has received no other ERC-20 token.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="treasury-other-tokens">
              <thead>
                <tr>
                  <th>Token (its own name for itself)</th>
                  <th>Contract</th>
                  <th className="num">Balance</th>
                  <th className="num">Received / sent</th>
                </tr>
              </thead>
              <tbody>
                {t.otherTokens.map((o) => (
                  <tr key={o.address}>
                    <td>{o.symbol !== null ? <Untrusted text={o.symbol} line max={24} /> : <span className="muted">no symbol</span>}</td>
                    <td className="mono small">{o.address}</td>
                    <td className="num">{o.decimals !== null ? formatTokens(o.balance, o.decimals) : `${o.balance} (raw units)`}</td>
                    <td className="num small">
                      {o.decimals !== null ? `${formatTokens(o.received, o.decimals)} / ${formatTokens(o.sent, o.decimals)}` : `${o.received} / ${o.sent}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="rewards-h">
        <h2 id="rewards-h">Rewards to maintainers</h2>
        {t.rewards.length === 0 ? (
          <p className="muted">No model-update proposal has paid a reward yet.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="treasury-rewards">
              <thead>
                <tr>
                  <th>Model update</th>
                  <th>Paid to</th>
                  <th className="num">Amount</th>
                  <th>Proposal</th>
                  <th>When</th>
                </tr>
              </thead>
              <tbody>
                {t.rewards.map((r) => (
                  <tr key={`${r.txHash}-${r.to}-${r.value}`}>
                    <td>
                      {r.models.map((m, i) => (
                        <span key={m.slug}>
                          {i > 0 && ', '}
                          <Link href={`/models/${m.slug}`}>{m.slug}</Link>
                          {m.version !== null ? ` v${m.version}` : ''}
                        </span>
                      ))}
                    </td>
                    <td className="mono">
                      <Link href={`/delegates/${r.to}`}>{r.to}</Link>
                    </td>
                    <td className="num">
                      {formatTokens(r.value)} {symbol}
                    </td>
                    <td>
                      <Link href={`/proposals/${r.proposal.id}`}>
                        <Untrusted text={proposalTitle(r.proposal.description)} line max={80} />
                      </Link>
                    </td>
                    <td className="small">{formatDateTime(r.time)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="flows-h">
        <h2 id="flows-h">Transfers</h2>
        {t.transfers.length === 0 ? (
          <p className="muted">Nothing has moved in or out yet.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="treasury-transfers">
              <thead>
                <tr>
                  <th>Direction</th>
                  <th className="num">Amount</th>
                  <th>Counterparty</th>
                  <th>Caused by</th>
                  <th>When</th>
                </tr>
              </thead>
              <tbody>
                {t.transfers.map((x, i) => (
                  <tr key={`${x.txHash}-${i}`} data-testid={`transfer-${x.direction}`}>
                    <td>{x.direction === 'in' ? 'In' : 'Out'}</td>
                    <td className="num">
                      <bdi className="untrusted">{amount(x)}</bdi>
                    </td>
                    <td className="mono small">{x.direction === 'in' ? x.from : x.to}</td>
                    <td>
                      {x.proposal ? (
                        <Link href={`/proposals/${x.proposal.id}`}>
                          <Untrusted text={proposalTitle(x.proposal.description)} line max={80} />
                        </Link>
                      ) : (
                        <span className="muted small">
                          {x.direction === 'in'
                            ? x.from === '0x0000000000000000000000000000000000000000'
                              ? 'minted'
                              : 'sent by the counterparty'
                            : 'no proposal found'}
                        </span>
                      )}
                    </td>
                    <td className="small">{formatDateTime(x.time)}</td>
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
