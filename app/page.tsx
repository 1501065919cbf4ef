import Link from 'next/link';
import { getModels } from '@/lib/web/queries/models';
import { getManifestView } from '@/lib/web/queries/manifests';
import { getChainNow } from '@/lib/web/queries/chain';
import { formatBytes, formatParams, formatTokens, relativeTime } from '@/lib/web/format';
import { ProposalState } from '@/lib/chain/proposal-state';
import { getProposals, getProposalsByExecutionTx } from '@/lib/web/queries/proposals';
import { getRecentApprovals } from '@/lib/web/queries/models';
import { getTreasury } from '@/lib/web/queries/treasury';
import { getTokenSymbol } from '@/lib/web/queries/token';
import { proposalTimeText } from '@/lib/web/proposal-time';
import { AccessRuleText } from './_components/access-rule';
import { Untrusted } from './_components/untrusted';
import { HolderPanel } from './_components/holder-panel';

export const dynamic = 'force-dynamic';

export default async function ModelsPage() {
  const [models, { now }, open, approvals, treasury, symbol] = await Promise.all([
    getModels(),
    getChainNow(),
    getProposals(ProposalState.Active, undefined, undefined, 1, 20),
    getRecentApprovals(5),
    getTreasury().catch(() => null),
    getTokenSymbol(),
  ]);
  const [views, approvedBy] = await Promise.all([
    Promise.all(models.map((m) => (m.current ? getManifestView(m.current.manifestDigest) : null))),
    getProposalsByExecutionTx(approvals.map((a) => a.tx).filter(Boolean)),
  ]);
  const openProposals = open.rows.map((p) => ({ id: p.id, title: p.title, timeText: proposalTimeText(p, open.now) }));
  return (
    <>
      <h1>The DAO at a glance</h1>
      <div className="grid-cards">
        <section className="card" aria-labelledby="open-h" data-testid="open-proposals">
          <h2 id="open-h" style={{ marginTop: 0 }}>
            Open proposals
          </h2>
          {openProposals.length === 0 ? (
            <p className="muted">No proposal is open for voting.</p>
          ) : (
            <ul>
              {openProposals.map((p) => (
                <li key={p.id}>
                  <Link href={`/proposals/${p.id}`}>
                    <Untrusted text={p.title} line max={100} />
                  </Link>{' '}
                  <span className="small muted">{p.timeText}</span>
                </li>
              ))}
            </ul>
          )}
          <p className="small">
            <Link href="/proposals">All proposals</Link>
          </p>
        </section>
        <HolderPanel open={openProposals} />
        <section className="card" aria-labelledby="approvals-h" data-testid="recent-approvals">
          <h2 id="approvals-h" style={{ marginTop: 0 }}>
            Recently approved versions
          </h2>
          {approvals.length === 0 ? (
            <p className="muted">No version has been approved yet.</p>
          ) : (
            <ul>
              {approvals.map((a) => (
                <li key={`${a.slug}-${a.version}`}>
                  <Link href={`/models/${a.slug}?v=${a.version}`}>
                    {a.slug} v{a.version}
                  </Link>{' '}
                  <span className="small muted">{relativeTime(a.at, now)}</span>
                  {approvedBy[a.tx] && (
                    <>
                      {' '}
                      by{' '}
                      <Link href={`/proposals/${approvedBy[a.tx]!.id}`} className="small">
                        <Untrusted text={approvedBy[a.tx]!.title} line max={60} />
                      </Link>
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="treasury-h" data-testid="treasury-summary">
          <h2 id="treasury-h" style={{ marginTop: 0 }}>
            Treasury
          </h2>
          {treasury ? (
            <dl className="kv">
              <dt>{symbol}</dt>
              <dd>{formatTokens(treasury.tokenBalance)}</dd>
              <dt>ETH</dt>
              <dd>{formatTokens(treasury.ethBalance)}</dd>
              <dt>Rewards paid</dt>
              <dd>{treasury.rewards.length}</dd>
            </dl>
          ) : (
            <p className="muted">Not available.</p>
          )}
          <p className="small">
            <Link href="/treasury">Treasury details</Link>
          </p>
        </section>
      </div>
      <h2>Models</h2>
      <p className="muted">
        Community models and the weights their token holders approved on chain. Consumers verify every byte against the approved manifest digest.
      </p>
      {models.length === 0 ? (
        <div className="card">
          <p>No model is registered yet.</p>
          <p>
            Registering one is a governance proposal: <Link href="/proposals/new?type=register">propose a new model</Link>.
          </p>
        </div>
      ) : (
        <ul className="grid-cards" style={{ listStyle: 'none', padding: 0 }} aria-label="Models">
          {models.map((m, i) => {
            const v = views[i];
            return (
              <li key={m.modelId} className="card" data-testid={`model-card-${m.slug}`}>
                <h2 style={{ marginTop: 0 }}>
                  <Link href={`/models/${m.slug}`}>{m.slug}</Link>
                </h2>
                <dl className="kv">
                  <dt>Current version</dt>
                  <dd>
                    {m.current ? (
                      <>
                        <span data-testid="current-version">v{m.current.version}</span> <span className="badge badge-current">approved</span>
                      </>
                    ) : (
                      <span className="badge badge-revoked">none — no approved weights</span>
                    )}
                  </dd>
                  <dt>Access</dt>
                  <dd>
                    <AccessRuleText kind={m.accessKind} token={m.accessToken} minBalance={m.accessMinBalance} />
                  </dd>
                  <dt>Size</dt>
                  <dd>{v ? `${formatBytes(v.brief.totalBytes)} in ${v.brief.files} file${v.brief.files === 1 ? '' : 's'}` : '—'}</dd>
                  <dt>Parameters</dt>
                  <dd>{v?.brief.params ? `${formatParams(v.brief.params)} ${v.brief.dtypes.join('/')}` : '—'}</dd>
                  <dt>Versions</dt>
                  <dd>{m.versionCount}</dd>
                  <dt>Last change</dt>
                  <dd>{relativeTime(m.lastChangeAt, now)}</dd>
                </dl>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
