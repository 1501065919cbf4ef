import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readJsonBody, sendJson, type Route } from '../http.ts';
import { recordDag } from '../../ipfs/dag.ts';
import { getManifest, hasManifest, recordManifest, recordUpload, servingStatus, syncPins } from '../../artifacts/catalog.ts';
import { ManifestError, MANIFEST_MAX_BYTES, parseDigest, validateManifest } from '../../manifest/index.ts';
import { accessChecker, uploadVerifier, type ArtifactRoutesContext } from '../../artifacts/routes-context.ts';
import { invalidateModelsCache } from './models.ts';

// POST /api/manifests — validates a manifest (schema, paths, files in the store with matching
// size/cid, parent known), stores its RFC 8785 canonical bytes as a blob and returns the digest.
// Same upload authorization as POST /api/uploads. GET /api/manifests/{digest} (0x…, sha256:… or
// bare hex) returns the canonical bytes; manifests are public (voters review them before approval).

const STATUS: Record<ManifestError['code'], number> = {
  invalid_manifest: 400,
  unknown_blob: 422,
  blob_mismatch: 422,
  unknown_parent: 422,
};

async function postManifest(req: IncomingMessage, res: ServerResponse, _p: unknown, ctx: ArtifactRoutesContext) {
  const account = await uploadVerifier(ctx)(req);
  const body = await readJsonBody(req, MANIFEST_MAX_BYTES);
  let validated;
  try {
    validated = await validateManifest(body, {
      statBlob: (sha) => ctx.store.stat(sha),
      hasManifest: (hex) => hasManifest(ctx.db, `0x${hex}`),
    });
  } catch (err) {
    if (err instanceof ManifestError) {
      throw new HttpError(STATUS[err.code], err.code, err.message);
    }
    throw err;
  }
  const { manifest, canonical, digest } = validated;
  const put = await ctx.store.put(Readable.from([Buffer.from(canonical)]), { expectedSha256: digest.hex });
  await recordUpload(ctx.db, { sha256: put.sha256, size: put.size, cid: put.cid, kind: 'manifest', account, ttlSeconds: ctx.env.UPLOAD_TTL_SECONDS });
  await recordDag(ctx.db, put, { wholeBlobBlock: true });
  const { created } = await recordManifest(ctx.db, {
    digest: digest.bytes32,
    model: manifest.model,
    parent: manifest.parent ? `0x${manifest.parent.slice(7)}` : null,
    canonical: new TextDecoder().decode(canonical),
    submittedBy: account,
    files: manifest.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
    ttlSeconds: ctx.env.UPLOAD_TTL_SECONDS,
  });
  // The version may already be on chain (manifest posted late): pin right away, and let the consumer
  // API's prebuilt answers pick up the manifest now rather than at the next indexed block.
  await syncPins(ctx.db, ctx.deployment.chainId);
  if (created) {
    invalidateModelsCache(ctx.db);
    await ctx.invalidation?.publish('manifests'); // and on every other app server
  }
  sendJson(res, created ? 201 : 200, {
    manifestDigest: digest.bytes32,
    digest: digest.prefixed,
    size: put.size,
    cid: put.cid,
  });
}

async function getManifestRoute(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: ArtifactRoutesContext) {
  let raw: string;
  try {
    raw = decodeURIComponent(params.digest ?? '');
  } catch {
    throw new HttpError(400, 'invalid_digest', 'digest is not valid percent-encoding');
  }
  const hex = parseDigest(raw);
  if (!hex) throw new HttpError(400, 'invalid_digest', 'digest must be 0x…, sha256:… or 64 hex characters');
  const row = await getManifest(ctx.db, `0x${hex}`);
  if (!row) throw new HttpError(404, 'manifest_not_found', `no manifest with digest 0x${hex}`);
  // Once a gated model publishes a manifest, reading it takes an access token like its files do.
  // Manifests not yet published (under vote) stay readable so voters can review what they approve.
  const serving = await servingStatus(ctx.db, hex, ctx.deployment.chainId);
  if (serving.kind === 'revoked') throw new HttpError(410, 'revoked', `manifest 0x${hex} belongs only to revoked versions and is no longer served`);
  const gated = serving.kind === 'published' && serving.gatedModelIds.length > 0;
  if (gated) await accessChecker(ctx)(req, { modelIds: serving.gatedModelIds });
  // The blobs' policy (routes/blobs.ts): the bytes never change, but whether they may be served does.
  // An unpublished manifest may become a gated or revoked version, so shared caches revalidate it
  // every time; a published public one is kept a minute; a gated one not at all.
  const cacheControl = gated ? 'private, no-store' : serving.kind === 'staging' ? 'public, no-cache' : 'public, max-age=60, must-revalidate';
  const body = Buffer.from(row.canonical, 'utf8');
  const etag = `"${hex}"`;
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    etag,
    'repr-digest': `sha-256=:${Buffer.from(hex, 'hex').toString('base64')}:`,
    'cache-control': cacheControl,
    'x-manifest-digest': `0x${hex}`,
  };
  if (req.headers['if-none-match']?.split(',').some((t) => t.trim() === etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export const routes: Route<ArtifactRoutesContext>[] = [
  { methods: ['POST'], pattern: /^\/api\/manifests\/?$/, handle: postManifest as Route<ArtifactRoutesContext>['handle'] },
  { methods: ['GET', 'HEAD'], pattern: /^\/api\/manifests\/(?<digest>[^/]+)\/?$/, handle: getManifestRoute as Route<ArtifactRoutesContext>['handle'] },
];
