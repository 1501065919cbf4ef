import Link from 'next/link';
import { getModels } from '@/lib/web/queries/models';
import { getManifestView } from '@/lib/web/queries/manifests';
import { getChainNow } from '@/lib/web/queries/chain';
import { formatBytes, formatParams, relativeTime } from '@/lib/web/format';
import { AccessRuleText } from './_components/access-rule';

export const dynamic = 'force-dynamic';

export default async function ModelsPage() {
  const [models, { now }] = await Promise.all([getModels(), getChainNow()]);
  const views = await Promise.all(models.map((m) => (m.current ? getManifestView(m.current.manifestDigest) : null)));
  return (
    <>
      <h1>Models</h1>
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
