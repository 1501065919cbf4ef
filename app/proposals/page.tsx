import Link from 'next/link';
import type { Metadata } from 'next';
import { parseProposalState, PROPOSAL_STATES, proposalStateName } from '@/lib/chain/proposal-state';
import { getProposals } from '@/lib/web/queries/proposals';
import { getModels } from '@/lib/web/queries/models';
import { proposalTimeText } from '@/lib/web/proposal-time';
import { shortAddress } from '@/lib/web/format';
import { Untrusted } from '@/app/_components/untrusted';
import { StateBadge } from '@/app/_components/state-badge';
import { VoteBar } from '@/app/_components/vote-bar';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = {
  title: 'Proposals',
  alternates: { types: { 'application/atom+xml': [{ url: '/api/feeds/proposals.atom', title: 'Proposals' }] } },
};

const PAGE_SIZE = 25;
type Search = Promise<{ state?: string; model?: string; q?: string; page?: string }>;

export default async function ProposalsPage({ searchParams }: { searchParams: Search }) {
  const sp = await searchParams;
  const state = parseProposalState(sp.state);
  const modelSlug = sp.model || undefined;
  const q = sp.q?.slice(0, 200) || undefined;
  const page = Math.max(1, Number.parseInt(sp.page ?? '1', 10) || 1);
  const [{ rows, total, now }, models] = await Promise.all([getProposals(state, modelSlug, q, page, PAGE_SIZE), getModels()]);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const link = (p: number) => {
    const u = new URLSearchParams();
    if (sp.state) u.set('state', sp.state);
    if (modelSlug) u.set('model', modelSlug);
    if (q) u.set('q', q);
    u.set('page', String(p));
    return `/proposals?${u}`;
  };

  return (
    <>
      <div className="btn-row" style={{ justifyContent: 'space-between' }}>
        <h1>Proposals</h1>
        <Link className="btn btn-primary" href="/proposals/new">
          New proposal
        </Link>
      </div>
      <form className="filters" method="get" action="/proposals" role="search" aria-label="Filter proposals">
        <label>
          State
          <select name="state" defaultValue={state !== undefined ? proposalStateName(state) : ''}>
            <option value="">Any state</option>
            {PROPOSAL_STATES.map((s) => (
              <option key={s} value={proposalStateName(s)}>
                {proposalStateName(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select name="model" defaultValue={modelSlug ?? ''}>
            <option value="">Any model</option>
            {models.map((m) => (
              <option key={m.slug} value={m.slug}>
                {m.slug}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input type="search" name="q" defaultValue={q ?? ''} placeholder="words in the description or an id" />
        </label>
        <button type="submit" className="btn">
          Apply
        </button>
        {(state !== undefined || modelSlug || q) && (
          <Link href="/proposals" className="small">
            Clear filters
          </Link>
        )}
      </form>
      <p className="muted small" aria-live="polite">
        {total} proposal{total === 1 ? '' : 's'}
        {pages > 1 ? ` · page ${page} of ${pages}` : ''}
      </p>
      {rows.length === 0 ? (
        <div className="card">
          No proposal matches. <Link href="/proposals/new">Create one</Link>.
        </div>
      ) : (
        <ul className="proposal-list">
          {rows.map((p) => (
            <li key={p.id} className="proposal-row" data-testid="proposal-row">
              <div>
                <h3>
                  <StateBadge state={p.state} />{' '}
                  <Link href={`/proposals/${p.id}`}>
                    <Untrusted text={p.title} line />
                  </Link>
                </h3>
                <div className="small">
                  {p.actions[0] ? <Untrusted text={p.actions[0].summary} /> : 'No actions'}
                  {p.actions.length > 1 ? ` — and ${p.actions.length - 1} more action${p.actions.length > 2 ? 's' : ''}` : ''}
                </div>
                <div className="small muted">
                  {proposalTimeText(p, now)} · by {shortAddress(p.proposer)} · {p.voteCount} vote{p.voteCount === 1 ? '' : 's'}
                </div>
              </div>
              <VoteBar forVotes={p.forVotes} againstVotes={p.againstVotes} abstainVotes={p.abstainVotes} quorum={p.quorum} />
            </li>
          ))}
        </ul>
      )}
      {pages > 1 && (
        <nav aria-label="Pages" className="btn-row" style={{ marginTop: 12 }}>
          {page > 1 && (
            <Link className="btn" href={link(page - 1)} rel="prev">
              Newer
            </Link>
          )}
          {page < pages && (
            <Link className="btn" href={link(page + 1)} rel="next">
              Older
            </Link>
          )}
        </nav>
      )}
    </>
  );
}
