import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { Metadata } from 'next';
import { getModel } from '@/lib/web/queries/models';
import { getManifestView } from '@/lib/web/queries/manifests';
import { safetensorsDtypes } from '@/lib/artifacts/safetensors';
import { getProposalsByExecutionTx } from '@/lib/web/queries/proposals';
import { getAppConfig } from '@/lib/web/server-app-config';
import { formatBytes, formatDateTime, formatParams, shortAddress } from '@/lib/web/format';
import { AccessRuleText } from '@/app/_components/access-rule';
import { Markdown } from '@/app/_components/markdown';
import { Untrusted } from '@/app/_components/untrusted';
import { CopySnippet } from '@/app/_components/copy-snippet';
import { manifestCid } from '@/lib/manifest/cid';
import { RevokeVersion } from './revoke-version';
import { LiveEvents } from '@/app/_components/live-events';
import { getPinsByVersion } from '@/lib/web/queries/pins';
import type { RemotePinRow } from '@/lib/ipfs/remote-pins';

export const dynamic = 'force-dynamic';

type Params = Promise<{ slug: string }>;
type Search = Promise<{ v?: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const slug = (await params).slug;
  // the model's versions as an Atom feed (served by the plain node server)
  return {
    title: slug,
    alternates: { types: { 'application/atom+xml': [{ url: `/api/feeds/models/${encodeURIComponent(slug)}/versions.atom`, title: `${slug} versions` }] } },
  };
}

export default async function ModelPage({ params, searchParams }: { params: Params; searchParams: Search }) {
  const { slug } = await params;
  const { v } = await searchParams;
  const m = await getModel(slug);
  if (!m) notFound();
  const app = await getAppConfig();
  const shownNumber = v && /^\d+$/.test(v) ? Number(v) : m.currentVersion || m.versionCount;
  const shown = m.versions.find((x) => x.version === shownNumber) ?? null;
  const view = shown ? await getManifestView(shown.manifestDigest) : null;
  const txs = m.versions.flatMap((x) => [x.publishedTx, x.statusChangedTx, x.currentFromTx, x.currentToTx].filter((t): t is string => Boolean(t)));
  const byTx = await getProposalsByExecutionTx(txs);
  const pinsByVersion = await getPinsByVersion(m.slug);
  const guardianish = app.guardian?.toLowerCase();

  return (
    <>
      <p className="small">
        <Link href="/">Models</Link> /
      </p>
      <h1>
        {m.slug} <LiveEvents model={m.slug} />
      </h1>
      {m.currentVersion === 0 && (
        <p className="notice-err" role="status" data-testid="no-current-version">
          {m.slug} has no approved version right now
          {m.versions.some((x) => x.status === 'Revoked') ? ' (its current version was revoked)' : ''}. Consumers and the CLI refuse to fetch it until
          governance makes another version current.
        </p>
      )}
      <dl className="kv card">
        <dt>Current version</dt>
        <dd data-testid="model-current-version">{m.currentVersion ? `v${m.currentVersion}` : 'none'}</dd>
        <dt>Access</dt>
        <dd>
          <AccessRuleText kind={m.accessKind} token={m.accessToken} minBalance={m.accessMinBalance} />
          {m.accessKind === 'Allowlist' && (
            <details>
              <summary>
                {m.allowlist.length} allowlisted account{m.allowlist.length === 1 ? '' : 's'}
              </summary>
              <ul>
                {m.allowlist.map((a) => (
                  <li key={a} className="mono">
                    {a}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </dd>
        <dt>Model id</dt>
        <dd>{m.modelId}</dd>
        <dt>Registered</dt>
        <dd>
          {formatDateTime(m.registeredAt)} · tx <span className="mono">{shortAddress(m.registeredTx)}</span>
          {byTx[m.registeredTx] && (
            <>
              {' '}
              by{' '}
              <Link href={`/proposals/${byTx[m.registeredTx]!.id}`}>
                <Untrusted text={byTx[m.registeredTx]!.title} line />
              </Link>
            </>
          )}
        </dd>
      </dl>

      <h2>Fetch it</h2>
      <CopySnippet label="With the CLI (verifies every byte against the on-chain digest)" text={`npx modeldao pull ${m.slug} --out ./${m.slug}`} />
      <CopySnippet label="Over HTTP (then check each file's sha256 against the manifest)" text={`curl ${app.publicBaseUrl}/api/models/${m.slug}/current`} />
      <CopySnippet
        label="From any IPFS trustless gateway (each block checked against its CID)"
        text={`npx modeldao pull ${m.slug} --ipfs-gateway ${app.publicBaseUrl} --out ./${m.slug}`}
      />

      <div className="two-col">
        <section aria-labelledby="files-h">
          <h2 id="files-h">{shown ? `Version ${shown.version}` : 'No version yet'}</h2>
          {shown && (
            <>
              <p className="small">
                Manifest digest <code data-testid="manifest-digest">{shown.manifestDigest}</code>
                <br />
                Manifest CID <code data-testid="manifest-cid">{manifestCid(shown.manifestDigest.slice(2)).toString()}</code>{' '}
                <span className="muted">
                  (the same sha-256 as an IPFS raw block: <code>{app.publicBaseUrl}/ipfs/&lt;CID&gt;?format=raw</code>)
                </span>
              </p>
              {!view ? (
                <p className="notice-warn">This server does not hold the manifest for this digest, so its files cannot be listed.</p>
              ) : (
                <>
                  <div className="table-wrap">
                    <table>
                      <caption className="muted small" style={{ textAlign: 'left' }}>
                        {view.brief.files} files · {formatBytes(view.brief.totalBytes)}
                        {view.brief.params ? ` · ${formatParams(view.brief.params)} parameters ${view.brief.dtypes.join('/')}` : ''}
                      </caption>
                      <thead>
                        <tr>
                          <th>File</th>
                          <th className="num">Size</th>
                          <th>sha256 / CID</th>
                        </tr>
                      </thead>
                      <tbody>
                        {view.manifest.files.map((f) => (
                          <tr key={f.path}>
                            <td className="mono">
                              <Untrusted text={f.path} />
                            </td>
                            <td className="num">{formatBytes(f.size)}</td>
                            <td>
                              <div className="mono small">{f.sha256}</div>
                              <div className="mono small muted">{f.cid}</div>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  {Object.entries(view.safetensors).map(([sha, s]) => {
                    const file = view.manifest.files.find((f) => f.sha256 === sha);
                    return (
                      <details key={sha}>
                        <summary>
                          <Untrusted text={file?.path ?? ''} />: {s.tensors.length} tensors, {formatParams(s.parameters.total)} params (
                          {safetensorsDtypes(s).join('/')})
                        </summary>
                        <div className="table-wrap">
                          <table>
                            <thead>
                              <tr>
                                <th>Tensor</th>
                                <th>dtype</th>
                                <th>shape</th>
                              </tr>
                            </thead>
                            <tbody>
                              {s.tensors.map((t) => (
                                <tr key={t.name}>
                                  <td className="mono">
                                    <Untrusted text={t.name} />
                                  </td>
                                  <td>
                                    <Untrusted text={t.dtype} />
                                  </td>
                                  <td className="mono">[{t.shape.join(', ')}]</td>
                                </tr>
                              ))}
                            </tbody>
                          </table>
                        </div>
                      </details>
                    );
                  })}
                  <h3>License</h3>
                  <p>
                    {view.manifest.metadata?.license ? (
                      <code>
                        <Untrusted text={String(view.manifest.metadata.license)} />
                      </code>
                    ) : (
                      'not stated'
                    )}
                  </p>
                  {view.manifest.metadata?.description && (
                    <>
                      <h3>Description</h3>
                      <Markdown text={String(view.manifest.metadata.description)} />
                    </>
                  )}
                  <h3>Evals</h3>
                  <Evals evals={view.manifest.metadata?.evals} />
                </>
              )}
            </>
          )}
        </section>

        <section aria-labelledby="history-h">
          <h2 id="history-h">Version history</h2>
          <ol className="timeline" reversed>
            {[...m.versions].reverse().map((x) => {
              const pub = byTx[x.publishedTx];
              const st = x.statusChangedTx ? byTx[x.statusChangedTx] : undefined;
              const isGuardian = x.statusChangedBy && guardianish && x.statusChangedBy.toLowerCase() === guardianish;
              return (
                <li key={x.version} className={x.status === 'Revoked' ? 'bad' : 'done'} data-testid={`version-${x.version}`}>
                  <div>
                    <Link href={`/models/${m.slug}?v=${x.version}`} aria-current={x.version === shown?.version ? 'true' : undefined}>
                      <strong>v{x.version}</strong>
                    </Link>{' '}
                    {x.version === m.currentVersion && <span className="badge badge-current">current</span>}{' '}
                    {x.status !== 'Active' && <span className={`badge badge-${x.status.toLowerCase()}`}>{x.status.toLowerCase()}</span>}
                  </div>
                  <div className="small">
                    Published {formatDateTime(x.publishedAt)}
                    {x.parentVersion ? ` · parent v${x.parentVersion}` : ''}
                    {pub ? (
                      <>
                        {' '}
                        by{' '}
                        <Link href={`/proposals/${pub.id}`}>
                          <Untrusted text={pub.title} line />
                        </Link>
                      </>
                    ) : null}{' '}
                    · tx <span className="mono">{shortAddress(x.publishedTx)}</span>
                  </div>
                  {x.currentFrom && (
                    <div className="small muted" data-testid={`version-${x.version}-current`}>
                      Current from {formatDateTime(x.currentFrom)}
                      <ChangedBy tx={x.currentFromTx} same={x.currentFromTx === x.publishedTx} byTx={byTx} />
                      {x.currentTo ? (
                        <>
                          {' '}
                          to {formatDateTime(x.currentTo)}
                          <ChangedBy tx={x.currentToTx} same={false} byTx={byTx} />
                        </>
                      ) : (
                        ' until now'
                      )}
                    </div>
                  )}
                  {x.statusChangedAt && (
                    <div className="small" data-testid={`version-${x.version}-status`}>
                      {x.status} {formatDateTime(x.statusChangedAt)}{' '}
                      {isGuardian ? (
                        'by the guardian'
                      ) : st ? (
                        <>
                          by{' '}
                          <Link href={`/proposals/${st.id}`}>
                            <Untrusted text={st.title} line />
                          </Link>
                        </>
                      ) : x.statusChangedBy ? (
                        `by ${shortAddress(x.statusChangedBy)}`
                      ) : (
                        ''
                      )}
                      {x.statusChangedTx ? (
                        <>
                          {' '}
                          · tx <span className="mono">{shortAddress(x.statusChangedTx)}</span>
                        </>
                      ) : null}
                    </div>
                  )}
                  <RemotePins version={x.version} pins={pinsByVersion[x.version] ?? []} />
                  {x.status !== 'Revoked' && <RevokeVersion modelId={m.modelId} slug={m.slug} version={x.version} isCurrent={x.version === m.currentVersion} />}
                </li>
              );
            })}
          </ol>
        </section>
      </div>
    </>
  );
}

function Evals({ evals }: { evals: unknown }) {
  if (!Array.isArray(evals) || evals.length === 0) return <p className="muted">No eval results in the manifest.</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Eval</th>
            <th>Result</th>
          </tr>
        </thead>
        <tbody>
          {evals.map((e, i) => {
            const o = (e && typeof e === 'object' ? e : { value: e }) as Record<string, unknown>;
            const name = String(o.name ?? o.task ?? o.benchmark ?? `eval ${i + 1}`);
            const rest = Object.entries(o).filter(([k]) => !['name', 'task', 'benchmark'].includes(k));
            return (
              <tr key={i}>
                <td>
                  <Untrusted text={name} />
                </td>
                <td>
                  <Untrusted text={rest.map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · ')} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** " (by <proposal>, tx 0x…)" for the transaction that changed the current version; nothing when it is the publish above. */
function ChangedBy({ tx, same, byTx }: { tx: string | null; same: boolean; byTx: Record<string, { id: string; title: string } | undefined> }) {
  if (!tx || same) return null;
  const p = byTx[tx];
  return (
    <>
      {' '}
      (
      {p ? (
        <>
          by{' '}
          <Link href={`/proposals/${p.id}`}>
            <Untrusted text={p.title} line />
          </Link>
          ,{' '}
        </>
      ) : null}
      tx <span className="mono">{shortAddress(tx)}</span>)
    </>
  );
}

/** Where a version is pinned remotely (IPFS pinning services) and each pin's status or failure reason. */
function RemotePins({ version, pins }: { version: number; pins: RemotePinRow[] }) {
  if (pins.length === 0) return null;
  const services = [...new Set(pins.map((p) => p.service))];
  return (
    <div className="small" data-testid={`version-${version}-pins`}>
      {services.map((service) => {
        const mine = pins.filter((p) => p.service === service);
        const pinned = mine.filter((p) => p.state === 'pinned').length;
        const unpinning = mine[0]!.want === 'unpinned';
        return (
          <div key={service}>
            {unpinning ? 'Unpinned from' : 'Pinned on'} <Untrusted text={service} line />:{' '}
            {unpinning ? `${mine.filter((p) => p.state === 'unpinned').length}/${mine.length} removed` : `${pinned}/${mine.length} pinned`}
            {mine
              .filter((p) => p.state !== 'pinned' && p.state !== 'unpinned')
              .map((p) => (
                <div key={p.path} className={p.state === 'failed' ? 'bad' : 'muted'}>
                  <Untrusted text={p.path || 'manifest'} line />: {p.state}
                  {p.lastError ? (
                    <>
                      {' — '}
                      <Untrusted text={p.lastError} line />
                    </>
                  ) : null}
                </div>
              ))}
          </div>
        );
      })}
    </div>
  );
}
