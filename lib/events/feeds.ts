// Atom 1.0 feeds (RFC 4287) of the DAO's proposals and of each model's versions, from the index.
// Ids are tag-like URNs built from chain id + contract address + on-chain id, so they never change
// when the server's URL does. All text from the chain is escaped and stripped of characters XML
// cannot carry; titles and summaries are bounded.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';

const MAX_ENTRIES = 50;

export function xmlText(s: string, max = 2000): string {
  const clean = s.replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g, '').slice(0, max);
  return clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const iso = (d: unknown) => new Date(d as string | Date).toISOString();

// Rows as the queries below select them (timestamps: Date or string, depending on the driver).
type Timestamp = Date | string;
type ProposalRow = {
  id: string;
  proposer: string;
  description: string;
  created_at: Timestamp;
  queued_at: Timestamp | null;
  executed_at: Timestamp | null;
  canceled_at: Timestamp | null;
  f: string;
  a: string;
  ab: string;
  vote_count: number;
};
type ModelRow = { id: string; current_version: number; registered_at: Timestamp };
type VersionRow = {
  version: number;
  manifest_digest: string;
  parent_version: number;
  published_at: Timestamp;
  status: string;
  status_changed_at: Timestamp | null;
  status_changed_by: string | null;
  published_tx: string;
};

interface Entry {
  id: string;
  title: string;
  updated: string;
  published: string;
  link: string;
  author: string;
  summary: string;
}

function feed(o: { id: string; title: string; self: string; alternate: string; entries: Entry[]; updated: string }): string {
  const entries = o.entries
    .map(
      (e) => `  <entry>
    <id>${xmlText(e.id)}</id>
    <title>${xmlText(e.title, 200)}</title>
    <updated>${e.updated}</updated>
    <published>${e.published}</published>
    <link rel="alternate" type="text/html" href="${xmlText(e.link)}"/>
    <author><name>${xmlText(e.author, 100)}</name></author>
    <summary type="text">${xmlText(e.summary)}</summary>
  </entry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xmlText(o.id)}</id>
  <title>${xmlText(o.title, 200)}</title>
  <updated>${o.updated}</updated>
  <link rel="self" type="application/atom+xml" href="${xmlText(o.self)}"/>
  <link rel="alternate" type="text/html" href="${xmlText(o.alternate)}"/>
  <author><name>modeldao</name></author>
  <generator>modeldao</generator>
${entries}
</feed>
`;
}

function proposalTitle(description: string): string {
  return (
    description
      .split('\n')[0]!
      .replace(/^#+\s*/, '')
      .trim() || 'Untitled proposal'
  );
}

export async function proposalsFeed(db: Db, o: { chainId: number; governor: string; baseUrl: string }): Promise<string> {
  const rows = (
    await db.execute(sql`SELECT proposal_id::text AS id, proposer, description, created_at, queued_at, executed_at, canceled_at, for_votes::text AS f, against_votes::text AS a, abstain_votes::text AS ab, vote_count
      FROM proposal WHERE chain_id = ${o.chainId} ORDER BY created_block DESC, proposal_id DESC LIMIT ${MAX_ENTRIES}`)
  ).rows as ProposalRow[];
  const entries: Entry[] = rows.map((r) => {
    const last = [r.executed_at, r.canceled_at, r.queued_at, r.created_at].filter(Boolean).map(iso).sort().at(-1)!;
    const stage = r.executed_at ? 'executed' : r.canceled_at ? 'canceled' : r.queued_at ? 'queued' : 'proposed';
    return {
      id: `urn:modeldao:${o.chainId}:${o.governor.toLowerCase()}:proposal:${r.id}`,
      title: proposalTitle(String(r.description)),
      updated: last,
      published: iso(r.created_at),
      link: `${o.baseUrl}/proposals/${r.id}`,
      author: String(r.proposer),
      summary: `${stage}; ${r.vote_count} vote(s): for ${r.f}, against ${r.a}, abstain ${r.ab}. ${String(r.description).slice(0, 1000)}`,
    };
  });
  const updated =
    entries
      .map((e) => e.updated)
      .sort()
      .at(-1) ?? new Date(0).toISOString();
  return feed({
    id: `urn:modeldao:${o.chainId}:${o.governor.toLowerCase()}:proposals`,
    title: 'modeldao proposals',
    self: `${o.baseUrl}/api/feeds/proposals.atom`,
    alternate: `${o.baseUrl}/proposals`,
    entries,
    updated,
  });
}

/** null when the model is unknown. */
export async function versionsFeed(db: Db, o: { chainId: number; registry: string; baseUrl: string; slug: string }): Promise<string | null> {
  const m = (
    await db.execute(sql`SELECT model_id::text AS id, current_version, registered_at FROM model WHERE chain_id = ${o.chainId} AND slug = ${o.slug} LIMIT 1`)
  ).rows[0] as ModelRow | undefined;
  if (!m) return null;
  const rows = (
    await db.execute(sql`SELECT version, manifest_digest, parent_version, published_at, status, status_changed_at, status_changed_by, published_tx FROM model_version
      WHERE chain_id = ${o.chainId} AND model_id = ${m.id} ORDER BY version DESC LIMIT ${MAX_ENTRIES}`)
  ).rows as VersionRow[];
  const base = `urn:modeldao:${o.chainId}:${o.registry.toLowerCase()}:model:${m.id}`;
  const entries: Entry[] = rows.map((r) => {
    const current = Number(r.version) === Number(m.current_version);
    return {
      id: `${base}:version:${r.version}`,
      title: `${o.slug} v${r.version} — ${String(r.status).toLowerCase()}${current ? ' (current)' : ''}`,
      updated: r.status_changed_at ? iso(r.status_changed_at) : iso(r.published_at),
      published: iso(r.published_at),
      link: `${o.baseUrl}/models/${encodeURIComponent(o.slug)}?v=${r.version}`,
      author: r.status_changed_by ? String(r.status_changed_by) : 'modeldao governance',
      summary: `manifest ${r.manifest_digest}; parent ${r.parent_version === 0 ? 'none' : `v${r.parent_version}`}; published in tx ${r.published_tx}`,
    };
  });
  const updated =
    entries
      .map((e) => e.updated)
      .sort()
      .at(-1) ?? iso(m.registered_at);
  return feed({
    id: base,
    title: `${o.slug} versions`,
    self: `${o.baseUrl}/api/feeds/models/${encodeURIComponent(o.slug)}/versions.atom`,
    alternate: `${o.baseUrl}/models/${encodeURIComponent(o.slug)}`,
    entries,
    updated,
  });
}
