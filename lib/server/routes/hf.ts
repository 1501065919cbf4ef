import type { IncomingMessage } from 'node:http';
import { and, asc, eq } from 'drizzle-orm';
import { getManifest } from '../../artifacts/catalog.ts';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { tokenFromRequest, type AccessService, type AnyPgDatabase } from '../../access/service.ts';
import { model, modelVersion } from '../../../db/schema/indexer.ts';
import { asHttpError, HttpError, type Route } from '../http.ts';
import { hfRoutes, type HfSource } from '../../hf/routes.ts';
import { commitOf, describeRevision, hfError, parseRevision, revisionMatches, type HfFile, type HfVersion } from '../../hf/protocol.ts';
import { isSlug } from '../../slug.ts';

// The Hugging Face Hub–compatible read API under /hf (HF_ENDPOINT=http://host:port/hf): approved
// versions as the index of chain events knows them, bytes from the artifact store. Like the rest of
// the HTTP API it verifies nothing for the consumer — `modeldao hf-endpoint` is the verifying one.

export interface HfRouteContext {
  deployment: { chainId: number; contracts: { ModelRegistry: string } };
  db: AnyPgDatabase;
  store: ArtifactStore;
  access?: AccessService;
}

interface ParsedManifest {
  files: HfFile[];
  metadata: Record<string, unknown>;
}

// Manifests are immutable (addressed by digest): parse each once.
const manifestCache = new Map<string, ParsedManifest>();

async function manifestOf(db: AnyPgDatabase, digest: string): Promise<ParsedManifest | null> {
  const hit = manifestCache.get(digest);
  if (hit) return hit;
  const row = await getManifest(db, digest);
  if (!row) return null;
  const m = JSON.parse(row.canonical) as { files: HfFile[]; metadata?: Record<string, unknown> };
  const parsed = { files: m.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })), metadata: m.metadata ?? {} };
  if (manifestCache.size > 1000) manifestCache.clear();
  manifestCache.set(digest, parsed);
  return parsed;
}

function repoNotFound(repoId: string): HttpError {
  return hfError(404, 'RepoNotFound', 'unknown_model', `no model ${JSON.stringify(repoId.slice(0, 80))} is registered on this DAO's chain`);
}

function sourceFor(ctx: HfRouteContext): HfSource {
  const chainId = ctx.deployment.chainId;
  return {
    async resolve(repoId, revision) {
      if (!isSlug(repoId)) throw repoNotFound(repoId);
      const m = (
        await ctx.db
          .select()
          .from(model)
          .where(and(eq(model.chainId, chainId), eq(model.slug, repoId)))
          .limit(1)
      )[0];
      if (!m) throw repoNotFound(repoId);
      const versions = await ctx.db
        .select()
        .from(modelVersion)
        .where(and(eq(modelVersion.chainId, chainId), eq(modelVersion.modelId, m.modelId)))
        .orderBy(asc(modelVersion.version));
      const rev = parseRevision(revision);
      const notFound = (why: string) => hfError(404, 'RevisionNotFound', 'unknown_revision', `${repoId} has no revision ${describeRevision(revision)}: ${why}`);
      if (!rev) throw notFound('revisions are main, v1, v2, … or a version commit id (40 hex)');
      let v;
      if (rev.kind === 'main') {
        if (!m.currentVersion) throw notFound('the model has no current approved version (none published, or the current one was revoked)');
        v = versions.find((x) => x.version === m.currentVersion);
      } else {
        v = versions.find((x) => revisionMatches(rev, x));
      }
      if (!v) throw notFound('no approved version has that name');
      if (v.status === 'Revoked')
        throw notFound(`version ${v.version} was revoked on chain${v.statusChangedBy ? ` by ${v.statusChangedBy}` : ''} and must not be used`);
      const manifest = await manifestOf(ctx.db, v.manifestDigest);
      if (!manifest)
        throw new HttpError(503, 'manifest_unavailable', `the manifest ${v.manifestDigest} of ${repoId} v${v.version} is not stored on this server`);
      return {
        repoId,
        modelId: BigInt(m.modelId),
        gated: m.accessKind !== 'Public',
        version: v.version,
        status: v.status.toLowerCase(),
        manifestDigest: v.manifestDigest,
        commit: commitOf(v.manifestDigest),
        lastModified: v.publishedAt ? v.publishedAt.toISOString() : null,
        files: manifest.files,
        metadata: manifest.metadata,
        chainId,
        registry: ctx.deployment.contracts.ModelRegistry,
      } satisfies HfVersion;
    },
    async authorize(v, req: IncomingMessage) {
      if (!v.gated) return true;
      const token = tokenFromRequest(req);
      if (!token) return false;
      if (!ctx.access) throw new HttpError(503, 'access_unavailable', 'access checks are not configured on this server');
      try {
        await ctx.access.checkBlobAccess({ token, modelIds: [v.modelId] });
        return true;
      } catch (err) {
        // the access service throws AccessError (lib/access); lib/server maps it to its HTTP answer
        const http = asHttpError(err);
        if (http && (http.status === 401 || http.status === 403)) {
          throw hfError(http.status, 'GatedRepo', http.code, `${v.repoId} is gated and the token was refused: ${http.message}`, http.headers);
        }
        throw err;
      }
    },
    async open(_v, file, range) {
      const stat = await ctx.store.stat(file.sha256);
      if (!stat) throw new HttpError(503, 'blob_unavailable', `${file.path} (sha256 ${file.sha256}) is approved but not stored on this server`);
      // A store on local disk: the file itself, sent with reused buffers (no fresh buffer per read).
      if (ctx.store.openBlob) return { file: await ctx.store.openBlob(file.sha256) };
      return { stream: ctx.store.createReadStream(file.sha256, range) };
    },
  };
}

const sources = new WeakMap<object, HfSource>();

export const routes: Route<HfRouteContext>[] = hfRoutes<HfRouteContext, HfVersion>('/hf', (ctx) => {
  let s = sources.get(ctx);
  if (!s) {
    s = sourceFor(ctx);
    sources.set(ctx, s);
  }
  return s;
});
