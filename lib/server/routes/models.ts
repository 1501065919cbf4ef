import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { and, asc, eq } from 'drizzle-orm';
import { getManifest } from '../../artifacts/catalog.ts';
import { HttpError, type Route } from '../http.ts';
import { SLUG_PATTERN } from '../../slug.ts';
import { indexerCheckpoint, model, modelVersion } from '../../../db/schema/indexer.ts';
import { tokenFromRequest, type AccessService, type AnyPgDatabase } from '../../access/service.ts';

// Consumer API: GET /api/models, /api/models/{slug}, /api/models/{slug}/current,
// /api/models/{slug}/versions/{n}. Answers come from the index (chain-confirmed state) and are
// served from prebuilt JSON buffers; the buffers are rebuilt when the index advances (the indexed
// block is compared on every request, so no explicit wiring to the indexer's onAdvance is needed,
// though `invalidateModelsCache` exists for it).

/** What these routes need from ServerContext. */
export interface ModelsRouteContext {
  env: { publicBaseUrl: string };
  deployment: { chainId: number; contracts: { ModelRegistry: string } };
  db: AnyPgDatabase;
  indexer?: { status(): { indexedBlock: number | null } };
  /** Required to serve manifests of gated models to token holders. */
  access?: AccessService;
  /** Manifest JSON by digest (0x + 64 hex), from the artifact store; falls back to the `manifest` table. */
  manifests?: { get(digest: string): Promise<Buffer | string | null> };
}

const ACCESS_KIND: Record<string, string> = { Public: 'public', TokenHolders: 'token-holders', Allowlist: 'allowlist' };
const STATUS: Record<string, string> = { Active: 'active', Deprecated: 'deprecated', Revoked: 'revoked' };

interface Entry {
  status: number;
  etag: string;
  /** Body for everyone; for gated models without manifest/files. */
  body: Buffer;
  /** Gated models only: the body with manifest and file URLs, for holders of a valid token. */
  gatedBody?: Buffer;
  gatedModelId?: bigint;
}

interface Cache {
  block: number | null | undefined;
  entries: Map<string, Entry>;
  building: Map<string, Promise<Entry>>;
  checkpointReadAt: number;
  dbBlock: number | null;
}

const caches = new WeakMap<object, Cache>();

function cacheFor(db: object): Cache {
  let c = caches.get(db);
  if (!c) {
    c = { block: undefined, entries: new Map(), building: new Map(), checkpointReadAt: 0, dbBlock: null };
    caches.set(db, c);
  }
  return c;
}

/** Drops every prebuilt answer (call from the indexer's onAdvance if you want it eager). */
export function invalidateModelsCache(db: object): void {
  const c = caches.get(db);
  if (c) {
    c.entries.clear();
    c.block = undefined;
  }
}

async function indexedBlock(ctx: ModelsRouteContext, cache: Cache): Promise<number | null> {
  const s = ctx.indexer?.status().indexedBlock;
  if (s !== undefined && s !== null) return s;
  // No in-process indexer: poll the checkpoint, at most every 250 ms.
  const now = Date.now();
  if (now - cache.checkpointReadAt > 250) {
    cache.checkpointReadAt = now;
    const rows = await ctx.db.select({ b: indexerCheckpoint.blockNumber }).from(indexerCheckpoint).where(eq(indexerCheckpoint.chainId, ctx.deployment.chainId));
    cache.dbBlock = rows[0]?.b ?? null;
  }
  return cache.dbBlock;
}

function makeEntry(status: number, payload: unknown, gated?: { payload: unknown; modelId: bigint }): Entry {
  const body = Buffer.from(JSON.stringify(payload));
  const gatedBody = gated ? Buffer.from(JSON.stringify(gated.payload)) : undefined;
  const etag = `"${crypto
    .createHash('sha256')
    .update(body)
    .update(gatedBody ?? '')
    .digest('base64url')
    .slice(0, 27)}"`;
  return { status, etag, body, gatedBody, gatedModelId: gated?.modelId };
}

function errorEntry(status: number, code: string, message: string, extra: Record<string, unknown> = {}): Entry {
  return makeEntry(status, { error: { code, message, ...extra } });
}

type ModelRow = typeof model.$inferSelect;
type VersionRow = typeof modelVersion.$inferSelect;

function accessOf(m: ModelRow) {
  return { kind: ACCESS_KIND[m.accessKind] ?? m.accessKind.toLowerCase(), token: m.accessToken, minBalance: m.accessMinBalance };
}

function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

function versionSummary(v: VersionRow, m: ModelRow) {
  return {
    version: v.version,
    manifestDigest: v.manifestDigest,
    parentVersion: v.parentVersion || null,
    status: STATUS[v.status] ?? v.status.toLowerCase(),
    current: m.currentVersion === v.version,
    publishedAt: iso(v.publishedAt),
    publishedBlock: v.publishedBlock,
    publishedTx: v.publishedTx,
    statusChangedAt: iso(v.statusChangedAt),
    statusChangedBy: v.statusChangedBy,
    statusChangedTx: v.statusChangedTx,
    currentFrom: iso(v.currentFrom),
    currentTo: iso(v.currentTo),
  };
}

async function checkpointRow(db: AnyPgDatabase, chainId: number) {
  const rows = await db
    .select({ b: indexerCheckpoint.blockNumber, h: indexerCheckpoint.blockHash })
    .from(indexerCheckpoint)
    .where(eq(indexerCheckpoint.chainId, chainId));
  return rows[0] ? { blockNumber: rows[0].b, blockHash: rows[0].h } : { blockNumber: null, blockHash: null };
}

async function loadManifest(ctx: ModelsRouteContext, digest: string): Promise<Record<string, unknown> | null> {
  try {
    if (ctx.manifests) {
      const m = await ctx.manifests.get(digest);
      if (m) return JSON.parse(m.toString()) as Record<string, unknown>;
      return null;
    }
    // The artifact store's `manifest` table (digest → canonical JSON).
    const row = await getManifest(ctx.db, digest);
    return row ? (JSON.parse(row.canonical) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function build(ctx: ModelsRouteContext, key: string): Promise<Entry> {
  const chainId = ctx.deployment.chainId;
  const registry = ctx.deployment.contracts.ModelRegistry;
  const base = ctx.env.publicBaseUrl.replace(/\/$/, '');
  const db = ctx.db;
  const cp = await checkpointRow(db, chainId);
  const meta = { chainId, registry, blockNumber: cp.blockNumber, blockHash: cp.blockHash };

  if (key === 'list') {
    const rows = await db.select().from(model).where(eq(model.chainId, chainId)).orderBy(asc(model.modelId));
    return makeEntry(200, {
      ...meta,
      models: rows.map((m) => ({
        slug: m.slug,
        modelId: m.modelId,
        access: accessOf(m),
        currentVersion: m.currentVersion || null,
        versionCount: m.versionCount,
        url: `${base}/api/models/${m.slug}`,
      })),
    });
  }

  const [kind, slug = '', n] = key.split(':');
  const m = (
    await db
      .select()
      .from(model)
      .where(and(eq(model.chainId, chainId), eq(model.slug, slug)))
      .limit(1)
  )[0];
  if (!m) return errorEntry(404, 'unknown_model', `no model "${slug}" is registered (as of block ${cp.blockNumber ?? 'none'})`);
  const versions = await db
    .select()
    .from(modelVersion)
    .where(and(eq(modelVersion.chainId, chainId), eq(modelVersion.modelId, m.modelId)))
    .orderBy(asc(modelVersion.version));

  if (kind === 'model') {
    return makeEntry(200, {
      ...meta,
      slug: m.slug,
      modelId: m.modelId,
      access: accessOf(m),
      currentVersion: m.currentVersion || null,
      versionCount: m.versionCount,
      registeredAt: iso(m.registeredAt),
      registeredTx: m.registeredTx,
      versions: versions.map((v) => versionSummary(v, m)),
      currentUrl: `${base}/api/models/${m.slug}/current`,
    });
  }

  let v: VersionRow | undefined;
  if (kind === 'current') {
    if (!m.currentVersion) {
      const last = versions.at(-1);
      const reason = last
        ? `the latest version (${last.version}) is ${STATUS[last.status] ?? last.status}${last.statusChangedBy ? ` (changed by ${last.statusChangedBy})` : ''} and governance has not set another current version`
        : 'no version has been published yet';
      return errorEntry(409, 'no_current_version', `model "${slug}" has no current version: ${reason}`, {
        latestVersion: last?.version ?? null,
        latestStatus: last ? (STATUS[last.status] ?? last.status) : null,
      });
    }
    v = versions.find((x) => x.version === m.currentVersion);
  } else {
    v = versions.find((x) => x.version === Number(n));
    if (!v) return errorEntry(404, 'unknown_version', `model "${slug}" has no version ${n} (it has ${m.versionCount})`);
    if (v.status === 'Revoked') {
      return errorEntry(
        410,
        'version_revoked',
        `version ${n} of "${slug}" was revoked${v.statusChangedBy ? ` by ${v.statusChangedBy}` : ''}${v.statusChangedAt ? ` at ${v.statusChangedAt.toISOString()}` : ''}; it must not be used`,
      );
    }
  }
  if (!v) return errorEntry(500, 'index_inconsistent', `current version of "${slug}" is missing from the index`);

  const manifest = await loadManifest(ctx, v.manifestDigest);
  const files = Array.isArray(manifest?.files)
    ? (manifest.files as { path: string; size: number; sha256: string; cid?: string }[]).map((f) => ({
        path: f.path,
        size: f.size,
        sha256: f.sha256,
        cid: f.cid ?? null,
        url: `${base}/api/blobs/${f.sha256}`,
      }))
    : null;
  const full = {
    ...meta,
    slug: m.slug,
    modelId: m.modelId,
    access: accessOf(m),
    ...versionSummary(v, m),
    manifestUrl: `${base}/api/manifests/${v.manifestDigest}`,
    manifestAvailable: manifest !== null,
    manifest,
    files,
  };
  if (m.accessKind === 'Public') return makeEntry(200, full);
  // Gated: the file list is what a token buys; everyone else sees the version and digest only.
  return makeEntry(
    200,
    { ...full, manifest: null, files: null, accessRequired: true, accessUrl: `${base}/api/access` },
    { payload: full, modelId: BigInt(m.modelId) },
  );
}

async function serve(req: IncomingMessage, res: ServerResponse, ctx: ModelsRouteContext, key: string): Promise<void> {
  const cache = cacheFor(ctx.db);
  const block = await indexedBlock(ctx, cache);
  if (block !== cache.block) {
    cache.entries.clear();
    cache.building.clear();
    cache.block = block;
  }
  let entry = cache.entries.get(key);
  if (!entry) {
    let p = cache.building.get(key);
    if (!p) {
      p = build(ctx, key);
      cache.building.set(key, p);
      p.then(
        (e) => {
          if (cache.block === block) cache.entries.set(key, e);
          cache.building.delete(key);
        },
        () => cache.building.delete(key),
      );
    }
    entry = await p;
  }
  let body = entry.body;
  let cacheControl = entry.status === 200 ? 'public, max-age=1, stale-while-revalidate=5' : 'public, max-age=1';
  if (entry.gatedBody && entry.gatedModelId !== undefined) {
    const token = tokenFromRequest(req);
    if (token) {
      if (!ctx.access) throw new HttpError(503, 'access_unavailable', 'access checks are not configured on this server');
      await ctx.access.checkBlobAccess({ token, modelIds: [entry.gatedModelId] });
      body = entry.gatedBody;
      cacheControl = 'private, no-store';
    }
    res.setHeader('vary', 'authorization');
  }
  if (req.headers['if-none-match'] === entry.etag && body === entry.body) {
    res.writeHead(304, { etag: entry.etag, 'cache-control': cacheControl });
    res.end();
    return;
  }
  res.writeHead(entry.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    etag: entry.etag,
    'cache-control': cacheControl,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const SLUG = `(?<slug>${SLUG_PATTERN})`;

export const routes: Route<ModelsRouteContext>[] = [
  { methods: ['GET', 'HEAD'], pattern: /^\/api\/models\/?$/, handle: (req, res, _p, ctx) => serve(req, res, ctx, 'list') },
  { methods: ['GET', 'HEAD'], pattern: new RegExp(`^/api/models/${SLUG}/?$`), handle: (req, res, p, ctx) => serve(req, res, ctx, `model:${p.slug}`) },
  { methods: ['GET', 'HEAD'], pattern: new RegExp(`^/api/models/${SLUG}/current/?$`), handle: (req, res, p, ctx) => serve(req, res, ctx, `current:${p.slug}`) },
  {
    methods: ['GET', 'HEAD'],
    pattern: new RegExp(`^/api/models/${SLUG}/versions/(?<n>\\d{1,10})/?$`),
    handle: (req, res, p, ctx) => serve(req, res, ctx, `version:${p.slug}:${Number(p.n)}`),
  },
];
