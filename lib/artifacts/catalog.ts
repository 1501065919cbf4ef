import { sql } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { SafetensorsSummary } from './safetensors.ts';
import type { ArtifactStore } from './store.ts';

// The artifact tables (db/schema/artifacts.ts) joined with the indexer's model_version: upload
// records, quotas, manifest references, pinning, "is this blob served?", and garbage collection.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any driver (PGlite, node-postgres) and schema: drizzle's generics share no common supertype
export type AnyDb = PgDatabase<any, any, any>;

export async function rows<T>(db: AnyDb, q: ReturnType<typeof sql>): Promise<T[]> {
  const r = (await db.execute(q)) as unknown as { rows: T[] };
  return r.rows;
}

export interface RecordUploadInput {
  sha256: string;
  size: number;
  cid: string;
  kind: 'file' | 'manifest';
  account: string | null;
  ttlSeconds: number;
  safetensors?: SafetensorsSummary | null;
}

/** Upserts the blob row (expiry extended to now + TTL unless pinned) and the account's upload record. */
export async function recordUpload(db: AnyDb, u: RecordUploadInput): Promise<void> {
  const account = u.account?.toLowerCase() ?? null;
  const st = u.safetensors ? JSON.stringify(u.safetensors) : null;
  await db.execute(sql`
    insert into blob (sha256, size, cid, kind, uploader, expires_at, pinned, safetensors)
    values (${u.sha256}, ${u.size}, ${u.cid}, ${u.kind}, ${account}, now() + make_interval(secs => ${u.ttlSeconds}), false, ${st}::jsonb)
    on conflict (sha256) do update set
      expires_at = case when blob.pinned then null else greatest(blob.expires_at, excluded.expires_at) end,
      safetensors = coalesce(blob.safetensors, excluded.safetensors)`);
  if (account) {
    await db.execute(sql`
      insert into blob_upload (sha256, account) values (${u.sha256}, ${account})
      on conflict (sha256, account) do update set uploaded_at = now()`);
  }
}

/** Bytes of this account's uploads that are neither pinned nor expired. */
export async function unpinnedBytes(db: AnyDb, account: string): Promise<number> {
  const [r] = await rows<{ total: string | number | null }>(
    db,
    sql`select coalesce(sum(b.size), 0) as total from blob_upload u join blob b on b.sha256 = u.sha256
        where u.account = ${account.toLowerCase()} and not b.pinned and (b.expires_at is null or b.expires_at > now())`,
  );
  return Number(r?.total ?? 0);
}

export async function isUploader(db: AnyDb, sha256: string, account: string): Promise<boolean> {
  const r = await rows(db, sql`select 1 from blob_upload where sha256 = ${sha256} and account = ${account.toLowerCase()}`);
  return r.length > 0;
}

export interface BlobRow {
  sha256: string;
  size: number;
  cid: string;
  kind: string;
  pinned: boolean;
  expiresAt: Date | null;
  safetensors: SafetensorsSummary | null;
}

export async function getBlob(db: AnyDb, sha256: string): Promise<BlobRow | null> {
  const [r] = await rows<Record<string, unknown>>(db, sql`select sha256, size, cid, kind, pinned, expires_at, safetensors from blob where sha256 = ${sha256}`);
  if (!r) return null;
  return {
    sha256: r.sha256 as string,
    size: Number(r.size),
    cid: r.cid as string,
    kind: r.kind as string,
    pinned: Boolean(r.pinned),
    expiresAt: r.expires_at ? new Date(r.expires_at as string) : null,
    safetensors: (typeof r.safetensors === 'string' ? JSON.parse(r.safetensors) : r.safetensors) as SafetensorsSummary | null,
  };
}

export interface StoredManifestInput {
  /** `0x…` */
  digest: string;
  model: string;
  /** `0x…` or null */
  parent: string | null;
  canonical: string;
  submittedBy: string | null;
  files: { path: string; sha256: string; size: number }[];
  ttlSeconds: number;
}

/**
 * Records a manifest and its file references; referenced unpinned blobs are kept at least another
 * TTL (a proposal for this manifest may be under vote).
 */
export async function recordManifest(db: AnyDb, m: StoredManifestInput): Promise<{ created: boolean }> {
  return db.transaction(async (tx) => {
    const inserted = await rows(
      tx as unknown as AnyDb,
      sql`insert into manifest (digest, model, parent, canonical, submitted_by)
          values (${m.digest}, ${m.model}, ${m.parent}, ${m.canonical}, ${m.submittedBy?.toLowerCase() ?? null})
          on conflict (digest) do nothing returning digest`,
    );
    for (const f of m.files) {
      await tx.execute(sql`insert into blob_ref (manifest_digest, path, file_sha256, size)
        values (${m.digest}, ${f.path}, ${f.sha256}, ${f.size}) on conflict do nothing`);
    }
    const shas = m.files.map((f) => f.sha256);
    await tx.execute(sql`update blob set expires_at = greatest(expires_at, now() + make_interval(secs => ${m.ttlSeconds}))
      where not pinned and sha256 in (${sql.join(
        shas.map((s) => sql`${s}`),
        sql`, `,
      )})`);
    return { created: inserted.length > 0 };
  });
}

export async function getManifest(db: AnyDb, digest: string): Promise<{ digest: string; model: string; canonical: string } | null> {
  const [r] = await rows<{ digest: string; model: string; canonical: string }>(db, sql`select digest, model, canonical from manifest where digest = ${digest}`);
  return r ?? null;
}

export async function hasManifest(db: AnyDb, digest: string): Promise<boolean> {
  return (await rows(db, sql`select 1 from manifest where digest = ${digest}`)).length > 0;
}

/**
 * Pins (and clears the expiry of) every stored manifest that a published version points at — any
 * status, revoked included — and every file those manifests list. Idempotent; call after each
 * indexer batch. Returns how many blob rows changed.
 */
/**
 * Pins now (a version indexed just before a crash was never pinned: its advance never ran) and after
 * every index advance that published or changed versions. Used by whichever process runs the
 * indexer: the server in-process, or `npm run indexer` standalone.
 */
export async function keepPinsInSync(
  db: AnyDb,
  chainId: number,
  indexer: { onAdvance(cb: (e: { reorg: boolean; summary: { versionsChanged: boolean } }) => Promise<void>): unknown },
): Promise<void> {
  // listen first: an advance during the initial sync is not missed
  indexer.onAdvance(async (e) => {
    if (e.reorg || e.summary.versionsChanged) await syncPins(db, chainId);
  });
  await syncPins(db, chainId);
}

export async function syncPins(db: AnyDb, chainId?: number): Promise<{ pinned: number }> {
  const chainFilter = chainId === undefined ? sql`true` : sql`v.chain_id = ${chainId}`;
  const r = await rows<{ sha256: string }>(
    db,
    sql`update blob set pinned = true, expires_at = null
        where not pinned and sha256 in (
          select substr(v.manifest_digest, 3) from model_version v where ${chainFilter}
          union
          select r.file_sha256 from blob_ref r join model_version v on v.manifest_digest = r.manifest_digest where ${chainFilter}
        )
        returning sha256`,
  );
  return { pinned: r.length };
}

export type ServingStatus =
  /** referenced by at least one published, non-revoked version */
  | { kind: 'published'; gatedModelIds: bigint[] }
  /** referenced by published versions, all of them revoked: 410, kept until governance cleanup */
  | { kind: 'revoked' }
  /** not (yet) referenced by any published version: only its uploaders may read it */
  | { kind: 'staging' };

/**
 * Whether a blob (file or manifest bytes) may be served, and which gated models it belongs to.
 * Revoked wins only when *every* referencing version is revoked; the same bytes in a live version of
 * any model stay served.
 */
export async function servingStatus(db: AnyDb, sha256: string, chainId: number): Promise<ServingStatus> {
  const refs = await rows<{ model_id: string; status: string; access_kind: string | null }>(
    db,
    sql`select v.model_id::text as model_id, v.status, m.access_kind
        from model_version v left join model m on m.chain_id = v.chain_id and m.model_id = v.model_id
        where v.chain_id = ${chainId} and (
          v.manifest_digest = ${'0x' + sha256}
          or v.manifest_digest in (select manifest_digest from blob_ref where file_sha256 = ${sha256}))`,
  );
  if (refs.length === 0) return { kind: 'staging' };
  const live = refs.filter((r) => r.status !== 'Revoked');
  if (live.length === 0) return { kind: 'revoked' };
  // Public anywhere means public: the same bytes are freely available through that model. A model
  // row not indexed yet (access_kind null) counts as gated, so the check fails closed.
  if (live.some((r) => r.access_kind === 'Public')) return { kind: 'published', gatedModelIds: [] };
  return { kind: 'published', gatedModelIds: [...new Set(live.map((r) => r.model_id))].map((s) => BigInt(s)) };
}

export interface GcCandidate {
  sha256: string;
  size: number;
  kind: string;
  expiresAt: Date | null;
  reason: 'expired' | 'untracked';
}

/**
 * What GC would delete: blobs that are unpinned, past their expiry and not listed by any manifest
 * that is itself still alive; plus files in the store with no row at all (e.g. a crash between
 * commit and recording), once older than the TTL.
 *
 * A manifest is alive while it is pinned, within its TTL, or named in the calldata of a proposal that
 * may still execute (not canceled, not executed, and either still open or with more For than Against
 * votes: Succeeded and Queued have no deadline). Governance can take longer than the upload TTL, and
 * the weights under vote must still be there when the vote passes.
 */
export async function gcPlan(
  db: AnyDb,
  store: ArtifactStore & { blobMtime?(sha: string): Promise<Date | null> },
  opts: { ttlSeconds: number; now?: Date },
): Promise<GcCandidate[]> {
  const now = opts.now ?? new Date();
  const expired = await rows<{ sha256: string; size: string | number; kind: string; expires_at: string | Date | null }>(
    db,
    sql`with proposed as (
          select m.digest from manifest m
          where exists (
            select 1 from proposal p
            where p.canceled_block is null and p.executed_block is null
              and (coalesce(p.extended_deadline, p.vote_end) >= ${now.toISOString()}::timestamptz or p.for_votes > p.against_votes)
              and position(substr(m.digest, 3) in lower(p.calldatas::text)) > 0))
        select b.sha256, b.size, b.kind, b.expires_at from blob b
        where not b.pinned and b.expires_at is not null and b.expires_at < ${now.toISOString()}::timestamptz
          and not exists (select 1 from proposed where proposed.digest = '0x' || b.sha256)
          and not exists (
            select 1 from blob_ref r join blob mb on mb.sha256 = substr(r.manifest_digest, 3)
            where r.file_sha256 = b.sha256
              and (mb.pinned or mb.expires_at >= ${now.toISOString()}::timestamptz or r.manifest_digest in (select digest from proposed)))
        order by b.sha256`,
  );
  const out: GcCandidate[] = expired.map((r) => ({
    sha256: r.sha256,
    size: Number(r.size),
    kind: r.kind,
    expiresAt: r.expires_at ? new Date(r.expires_at) : null,
    reason: 'expired',
  }));
  const known = new Set((await rows<{ sha256: string }>(db, sql`select sha256 from blob`)).map((r) => r.sha256));
  for await (const sha of store.list()) {
    if (known.has(sha)) continue;
    const mtime = store.blobMtime ? await store.blobMtime(sha) : null;
    if (mtime && now.getTime() - mtime.getTime() < opts.ttlSeconds * 1000) continue;
    const st = await store.stat(sha);
    out.push({ sha256: sha, size: st?.size ?? 0, kind: 'unknown', expiresAt: null, reason: 'untracked' });
  }
  return out;
}

/** Deletes the planned blobs (bytes first, then rows; a manifest's rows go with its bytes). */
export async function gcDelete(db: AnyDb, store: ArtifactStore, plan: GcCandidate[]): Promise<number> {
  let deleted = 0;
  for (const c of plan) {
    // Re-check under the current state: a blob pinned or re-uploaded since the plan was made survives.
    const [still] = await rows(db, sql`select 1 from blob where sha256 = ${c.sha256} and (pinned or expires_at >= now())`);
    if (still) continue;
    await store.delete(c.sha256);
    await db.transaction(async (tx) => {
      await tx.execute(sql`delete from blob_ref where manifest_digest = ${'0x' + c.sha256}`);
      await tx.execute(sql`delete from manifest where digest = ${'0x' + c.sha256}`);
      await tx.execute(sql`delete from blob_upload where sha256 = ${c.sha256}`);
      await tx.execute(sql`delete from blob where sha256 = ${c.sha256}`);
      // its IPFS block index (lib/ipfs/dag.ts) goes with it
      await tx.execute(sql`delete from ipfs_block where blob_sha256 = ${c.sha256}`);
      await tx.execute(sql`delete from ipfs_dag where blob_sha256 = ${c.sha256}`);
    });
    deleted++;
  }
  return deleted;
}
