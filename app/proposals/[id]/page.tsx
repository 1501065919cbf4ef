import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { Metadata } from 'next';
import { keccak256, toBytes } from 'viem';
import { getProposal, getVotes, getDecodeContext } from '@/lib/web/queries/proposals';
import { getModel } from '@/lib/web/queries/models';
import { getManifestView, type ManifestView } from '@/lib/web/queries/manifests';
import { simulateProposal } from '@/lib/web/queries/simulate';
import { getChainNow } from '@/lib/web/queries/chain';
import { decodeActions, descriptionBody } from '@/lib/web/actions';
import { diffManifests, type ManifestDiff } from '@/lib/web/manifest-diff';
import { ManifestDiffView } from '@/app/_components/manifest-diff-view';
import { ProposalState, isFinal } from '@/lib/chain/proposal-state';
import { formatDateTime, formatProgress, formatTokens, percent, relativeTime, shortAddress } from '@/lib/web/format';
import { proposalTimeText } from '@/lib/web/proposal-time';
import { StateBadge } from '@/app/_components/state-badge';
import { LiveEvents } from '@/app/_components/live-events';
import { VoteBar } from '@/app/_components/vote-bar';
import { Markdown } from '@/app/_components/markdown';
import { Untrusted } from '@/app/_components/untrusted';
import { displayLine } from '@/lib/web/untrusted-text';
import { VotesChart } from './votes-chart';
import { ProposalControls } from './proposal-controls';

export const dynamic = 'force-dynamic';

type Params = Promise<{ id: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const p = await getProposal((await params).id);
  // the tab cannot isolate text: bidi controls revealed, invisible characters dropped, one line
  return {
    title: p ? displayLine(p.title, 80) : 'Proposal',
    alternates: { types: { 'application/atom+xml': [{ url: '/api/feeds/proposals.atom', title: 'Proposals' }] } },
  };
}

const SUPPORT = ['Against', 'For', 'Abstain'] as const;

export default async function ProposalPage({ params }: { params: Params }) {
  const { id } = await params;
  const p = await getProposal(id);
  if (!p) notFound();
  const [votes, { now }, ctx] = await Promise.all([getVotes(id), getChainNow(), getDecodeContext()]);

  // Manifests of every publish, and of the version each one replaces, for the diff.
  const publishes = p.actions.filter((a) => a.publish);
  const diffs: { modelSlug: string; baseVersion: number; next: ManifestView | null; diff: ManifestDiff | null; digest: string }[] = [];
  const manifests: Record<string, ManifestView['brief'] | undefined> = {};
  for (const a of publishes) {
    const pub = a.publish!;
    const slug = ctx.slugs[pub.modelId];
    const model = slug ? await getModel(slug) : null;
    const next = await getManifestView(pub.manifestDigest);
    if (next) manifests[pub.manifestDigest.toLowerCase()] = next.brief;
    const baseVersion = p.state === ProposalState.Executed ? pub.parentVersion : model?.currentVersion || pub.parentVersion;
    const baseDigest = model?.versions.find((v) => v.version === baseVersion)?.manifestDigest;
    const base = baseDigest ? await getManifestView(baseDigest) : null;
    diffs.push({
      modelSlug: slug ?? `model #${pub.modelId}`,
      baseVersion,
      next,
      digest: pub.manifestDigest,
      diff: next ? diffManifests(baseVersion && base ? base : null, next) : null,
    });
  }
  const actions = decodeActions(p.targets, p.values, p.calldatas, {
    ...ctx,
    manifests,
    versionCounts: p.state === ProposalState.Executed ? undefined : ctx.versionCountsNow,
  });
  const simulation = isFinal(p.state) ? null : await simulateProposal(id, p.targets, p.values, p.calldatas);
  const descriptionHash = keccak256(toBytes(p.description));
  const total = BigInt(p.forVotes) + BigInt(p.againstVotes) + BigInt(p.abstainVotes);
  const quorumReached = BigInt(p.forVotes) + BigInt(p.abstainVotes) >= BigInt(p.quorum);

  return (
    <>
      <p className="small">
        <Link href="/proposals">Proposals</Link> /
      </p>
      <h1>
        <Untrusted text={p.title} line />
      </h1>
      <p className="btn-row">
        <StateBadge state={p.state} />
        <LiveEvents proposalId={p.id} />
        <span className="small muted">
          {proposalTimeText(p, now)} · proposed by <span className="mono">{shortAddress(p.proposer)}</span> · id{' '}
          <span className="mono">{shortAddress(p.id)}</span>
        </span>
      </p>

      <div className="two-col">
        <div>
          <section aria-labelledby="actions-h" className="card">
            <h2 id="actions-h" style={{ marginTop: 0 }}>
              What it does
            </h2>
            <ol data-testid="actions">
              {actions.map((a) => (
                <li key={a.index} style={{ marginBottom: 8 }}>
                  <div>
                    <Untrusted text={a.summary} />
                  </div>
                  {a.warning && (
                    <div className="notice-warn small">
                      ⚠ <Untrusted text={a.warning} />
                    </div>
                  )}
                  <details className="small">
                    <summary>Raw call</summary>
                    <div className="mono">to {a.target}</div>
                    {a.value !== '0' && <div className="mono">value {a.value} wei</div>}
                    {a.functionName && (
                      <div className="mono">
                        <Untrusted
                          text={`${a.functionName}(${(a.args ?? []).map((x) => (typeof x === 'object' ? JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) : String(x))).join(', ')})`}
                        />
                      </div>
                    )}
                    <div className="mono">{a.calldata}</div>
                  </details>
                </li>
              ))}
            </ol>
          </section>

          {diffs.map((d, i) => (
            <section key={i} aria-labelledby={`diff-${i}`} className="card" data-testid="version-diff">
              <h2 id={`diff-${i}`} style={{ marginTop: 0 }}>
                Changes to {d.modelSlug} {d.baseVersion ? `against v${d.baseVersion}` : '(first version)'}
              </h2>
              {!d.diff ? (
                <p className="notice-warn">
                  The manifest <code>{d.digest}</code> is not stored on this server, so the change cannot be shown. Do not vote for weights nobody can inspect.
                </p>
              ) : (
                <ManifestDiffView diff={d.diff} />
              )}
            </section>
          ))}

          {simulation && (
            <section aria-labelledby="sim-h" className="card" data-testid="simulation">
              <h2 id="sim-h" style={{ marginTop: 0 }}>
                Simulation
              </h2>
              {!simulation.ran ? (
                <p className="notice-warn">
                  <Untrusted text={simulation.note ?? ''} />
                </p>
              ) : (
                <>
                  <p className={simulation.calls.every((c) => c.ok) ? 'notice-ok' : 'notice-err'} data-testid="simulation-outcome">
                    {simulation.calls.every((c) => c.ok)
                      ? 'Executed by the timelock now, every action would succeed.'
                      : 'Executed by the timelock now, this proposal would fail.'}{' '}
                    <span className="small muted">(eth_simulateV1 at block {simulation.blockNumber})</span>
                  </p>
                  <ol className="small">
                    {simulation.calls.map((c, i) => (
                      <li key={i}>
                        {c.ok ? '✓ succeeds' : <Untrusted text={`✗ reverts: ${c.error}`} />}
                        {c.events.length > 0 && (
                          <ul>
                            {c.events.map((e, j) => (
                              <li key={j} className="mono">
                                <Untrusted text={e} />
                              </li>
                            ))}
                          </ul>
                        )}
                      </li>
                    ))}
                  </ol>
                </>
              )}
            </section>
          )}

          <section aria-labelledby="desc-h">
            <h2 id="desc-h">Description</h2>
            {descriptionBody(p.description) ? <Markdown text={descriptionBody(p.description)} /> : <p className="muted">No description beyond the title.</p>}
          </section>

          <section aria-labelledby="voters-h">
            <h2 id="voters-h">Voters ({votes.length})</h2>
            {votes.length === 0 ? (
              <p className="muted">Nobody has voted yet.</p>
            ) : (
              <div className="table-wrap">
                <table data-testid="voters">
                  <thead>
                    <tr>
                      <th>Voter</th>
                      <th>Vote</th>
                      <th className="num">Votes</th>
                      <th>Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...votes]
                      .sort((a, b) => (BigInt(b.weight) > BigInt(a.weight) ? 1 : -1))
                      .map((v) => (
                        <tr key={v.voter}>
                          <td className="mono">{shortAddress(v.voter)}</td>
                          <td>{SUPPORT[v.support]}</td>
                          <td className="num">{formatTokens(v.weight)}</td>
                          <td>{v.reason ? <Markdown text={v.reason} /> : <span className="muted">—</span>}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>

        <aside>
          <ProposalControls
            id={p.id}
            indexedState={p.state}
            voteStart={p.voteStart}
            eta={p.eta}
            targets={p.targets}
            values={p.values}
            calldatas={p.calldatas}
            descriptionHash={descriptionHash}
          />

          <section className="card" aria-labelledby="tally-h">
            <h2 id="tally-h" style={{ marginTop: 0 }}>
              Results
            </h2>
            <VoteBar forVotes={p.forVotes} againstVotes={p.againstVotes} abstainVotes={p.abstainVotes} quorum={p.quorum} legend={false} />
            <dl className="kv" style={{ marginTop: 10 }} data-testid="tally">
              <dt>For</dt>
              <dd>
                {formatTokens(p.forVotes)} ({percent(BigInt(p.forVotes), total || 1n).toFixed(1)}%)
              </dd>
              <dt>Against</dt>
              <dd>
                {formatTokens(p.againstVotes)} ({percent(BigInt(p.againstVotes), total || 1n).toFixed(1)}%)
              </dd>
              <dt>Abstain</dt>
              <dd>{formatTokens(p.abstainVotes)}</dd>
              <dt>Quorum</dt>
              <dd>
                {formatTokens(BigInt(p.forVotes) + BigInt(p.abstainVotes))} of {formatTokens(p.quorum)}{' '}
                {quorumReached ? '✓ reached' : `(${formatProgress(BigInt(p.forVotes) + BigInt(p.abstainVotes), BigInt(p.quorum))})`}
              </dd>
            </dl>
            <h3>Votes over time</h3>
            <VotesChart votes={votes} start={p.voteStart} end={p.voteEnd} quorum={p.quorum} />
          </section>

          <section className="card" aria-labelledby="life-h">
            <h2 id="life-h" style={{ marginTop: 0 }}>
              Lifecycle
            </h2>
            <Lifecycle p={p} now={now} />
          </section>
        </aside>
      </div>
    </>
  );
}

function Lifecycle({ p, now }: { p: NonNullable<Awaited<ReturnType<typeof getProposal>>>; now: number }) {
  const items: { label: string; at: number | null; cls: string }[] = [
    { label: 'Created', at: p.createdAt, cls: 'done' },
    { label: p.voteStart < now ? 'Voting started' : 'Voting starts', at: p.voteStart, cls: p.voteStart < now ? 'done' : 'future' },
    {
      label: `${p.voteEnd < now ? 'Voting ended' : 'Voting ends'}${p.extended ? ' (extended: quorum was reached late)' : ''}`,
      at: p.voteEnd,
      cls: p.voteEnd < now ? 'done' : 'future',
    },
  ];
  if (p.state === ProposalState.Defeated) items.push({ label: 'Defeated (quorum not reached or more Against than For)', at: p.voteEnd, cls: 'bad' });
  if (p.queuedAt) items.push({ label: 'Queued in the timelock', at: p.queuedAt, cls: 'done' });
  if (p.eta && !p.executedAt)
    items.push({
      label: p.eta <= now ? 'ETA reached: anyone can execute' : `ETA (${relativeTime(p.eta, now)})`,
      at: p.eta,
      cls: p.eta <= now ? 'done' : 'future',
    });
  if (p.executedAt) items.push({ label: 'Executed', at: p.executedAt, cls: 'done' });
  if (p.canceledAt) items.push({ label: 'Canceled', at: p.canceledAt, cls: 'bad' });
  if (p.state === ProposalState.Succeeded) items.push({ label: 'Next: queue it (anyone can)', at: null, cls: 'future' });
  return (
    <ol className="timeline" data-testid="lifecycle">
      {items.map((i, k) => (
        <li key={k} className={i.cls}>
          <div>{i.label}</div>
          {i.at !== null && <div className="small muted">{formatDateTime(i.at)}</div>}
        </li>
      ))}
    </ol>
  );
}
