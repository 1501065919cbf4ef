import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { CID } from 'multiformats/cid';
import { HttpError, type Route } from '../http.ts';
import type { ArtifactRoutesContext } from '../../artifacts/routes-context.ts';
import {
  DAG_PB_CODE,
  IDENTITY_CODE,
  RAW_CODE,
  SHA2_256_CODE,
  findBlockCached,
  getNodeCached,
  multihashHex,
  repeatedBlocks,
  type BlockRow,
} from '../../ipfs/dag.ts';
import { CACHE_PUBLIC_IMMUTABLE, authorizeBlock } from '../ipfs-access.ts';
import { carLength, writeCar, type ByteRange, type CarSource, type DagScope } from '../../ipfs/car.ts';
import { blockBuffers } from '../../artifacts/buffer-pool.ts';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';

// GET/HEAD /ipfs/{cid} — an IPFS Trustless Gateway (specs.ipfs.tech/http-gateways/trustless-gateway,
// 2026-03-05) for the blocks of the store's files and manifests (lib/ipfs/dag.ts):
// - application/vnd.ipld.raw: one block, its bytes hash to the CID's multihash;
// - application/vnd.ipld.car: CARv1, order=dfs, dups=n (default) or y, dag-scope=block|entity|all
//   (default all; for a UnixFS file entity = all);
// - `?format=raw|car` wins over Accept; car-version/car-order/car-dups query parameters win over the
//   Accept parameters; no acceptable format → 400 (strict trustless mode: nothing deserialized);
// - unknown CID → 404 (this gateway never looks elsewhere), with `Cache-Control: only-if-cached` 412;
//   identity CIDs (the probe `bafkqaaa`) answer from the CID itself;
// - ETag `"<cid>.raw"` / `"<cid>.car.<params>"` (both byte-for-byte deterministic, so strong),
//   If-None-Match → 304; Content-Disposition attachment `<cid>.bin|.car`; nosniff; Vary: Accept.
// - `entity-bytes=from:to` (CAR only; implies dag-scope=entity): the root, the nodes on the way and the
//   leaves overlapping the range (negative offsets count from the end, `*` is the end; a range
//   entirely past the end → 400, an empty one → the root block only); the ETag names the range.
// - CARs carry a Content-Length (computed from the index before the first byte), not chunked framing.
// Access: the /api/blobs rules (lib/server/ipfs-access.ts). Not supported: paths below the CID (our DAGs are
// single files: 404 for CAR, 400 for raw), CARv2.

const RAW_TYPE = 'application/vnd.ipld.raw';
const CAR_TYPE = 'application/vnd.ipld.car';

interface CarParams {
  dups: boolean;
  /** the client named order/dups/version explicitly (for Content-Location) */
  explicit: boolean;
}
type Wanted = { format: 'raw' } | ({ format: 'car' } & CarParams);

function badRequest(code: string, message: string): HttpError {
  return new HttpError(400, code, message);
}

function carParams(get: (k: string) => string | undefined, where: string): CarParams {
  const version = get('version');
  if (version !== undefined && version !== '1')
    throw badRequest('unsupported_car_version', `CAR version ${version} (${where}) is not supported; only version=1`);
  const order = get('order');
  if (order !== undefined && order !== 'dfs' && order !== 'unk')
    throw badRequest('unsupported_car_order', `CAR order "${order}" (${where}) is not supported; use dfs or unk`);
  const dups = get('dups');
  if (dups !== undefined && dups !== 'y' && dups !== 'n') throw badRequest('invalid_car_dups', `CAR dups "${dups}" (${where}) must be y or n`);
  return { dups: dups === 'y', explicit: version !== undefined || order !== undefined || dups !== undefined };
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  const out: MediaRange[] = [];
  for (const part of header.split(',').slice(0, 32)) {
    const [type, ...rest] = part.split(';').map((s) => s.trim());
    if (!type) continue;
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0)
        params.set(
          p.slice(0, eq).trim().toLowerCase(),
          p
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
        );
    }
    const q = params.has('q') ? Number(params.get('q')) : 1;
    params.delete('q');
    if (!(q > 0)) continue;
    out.push({ type: type.toLowerCase(), params, q });
  }
  return out.sort((a, b) => b.q - a.q); // stable: equal q keep the client's order
}

/** Which response the request asks for (format query > Accept), or a 400. */
export function negotiate(query: URLSearchParams, accept: string | undefined): Wanted {
  const format = query.get('format');
  const ranges = parseAccept(accept);
  const queryCar = () => {
    const fromQuery = carParams((k) => query.get(`car-${k}`) ?? undefined, 'query');
    return fromQuery;
  };
  if (format !== null) {
    if (format === 'raw') return { format: 'raw' };
    if (format !== 'car') throw badRequest('unsupported_format', `format=${format} is not served here; use format=raw or format=car`);
    const acceptCar = ranges.find((r) => r.type === CAR_TYPE);
    const a = acceptCar ? carParams((k) => acceptCar.params.get(k), 'Accept') : { dups: false, explicit: false };
    const q = queryCar();
    return { format: 'car', dups: query.has('car-dups') ? q.dups : a.dups, explicit: a.explicit || q.explicit };
  }
  let lastError: HttpError | null = null;
  for (const r of ranges) {
    if (r.type === RAW_TYPE) return { format: 'raw' };
    if (r.type === CAR_TYPE) {
      try {
        const a = carParams((k) => r.params.get(k), 'Accept');
        const q = queryCar();
        return { format: 'car', dups: query.has('car-dups') ? q.dups : a.dups, explicit: a.explicit || q.explicit };
      } catch (err) {
        lastError = err as HttpError; // a later, lower-q variant may still be acceptable
      }
    }
  }
  if (lastError) throw lastError;
  throw badRequest(
    'no_acceptable_format',
    `this is a trustless gateway: ask for ${RAW_TYPE} or ${CAR_TYPE} (Accept header), or add ?format=raw or ?format=car`,
  );
}

interface EntityBytes {
  from: number;
  /** null: `*`, the end of the file */
  to: number | null;
  text: string;
}

/** `entity-bytes=from:to` (trustless gateway spec): integers, negative from the end, `*` for the end. */
function parseEntityBytes(v: string): EntityBytes {
  const m = /^(-?\d{1,16}):(-?\d{1,16}|\*)$/.exec(v);
  if (!m) throw badRequest('invalid_entity_bytes', `entity-bytes=${v.slice(0, 80)} must be from:to (byte offsets; negative from the end; to may be *)`);
  return { from: Number(m[1]), to: m[2] === '*' ? null : Number(m[2]), text: `${m[1]}:${m[2]}` };
}

/** The range in file offsets, or null when it is empty (the CAR is then the root block alone); 400 when entirely past the end. */
function resolveEntityBytes(e: EntityBytes, size: number): ByteRange | null {
  const from = e.from < 0 ? Math.max(0, size + e.from) : e.from;
  const to = e.to === null ? size - 1 : e.to < 0 ? size + e.to : Math.min(e.to, size - 1);
  if (size > 0 && from >= size) throw badRequest('range_not_satisfiable', `entity-bytes=${e.text} starts past the end of the ${size}-byte file`);
  return to < from ? null : { from, to };
}

function parseCid(s: string): CID {
  let text = s;
  try {
    text = decodeURIComponent(s);
  } catch {
    /* keep as is */
  }
  try {
    return CID.parse(text);
  } catch {
    throw badRequest('invalid_cid', `"${text.slice(0, 120)}" is not a CID`);
  }
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function onlyIfCached(req: IncomingMessage): boolean {
  return /(^|,)\s*only-if-cached\s*(,|$)/i.test(String(req.headers['cache-control'] ?? ''));
}

/** A store that can read a range by position into a given buffer (the local store: LocalArtifactStore.readRange). */
type PositionalStore = ArtifactRoutesContext['store'] & {
  readRange?(sha256: string, range: { start: number; end: number }, into?: Buffer): Promise<Buffer>;
};

async function handleIpfs(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: ArtifactRoutesContext) {
  const url = new URL(req.url ?? '/', 'http://gateway.invalid');
  const cid = parseCid(params.cid!);
  const wanted = negotiate(url.searchParams, req.headers.accept);
  const scopeParam = url.searchParams.get('dag-scope');
  if (scopeParam !== null && !['block', 'entity', 'all'].includes(scopeParam)) {
    throw badRequest('invalid_dag_scope', `dag-scope=${scopeParam} must be block, entity or all`);
  }
  const entityBytesParam = url.searchParams.get('entity-bytes');
  let entityBytes: EntityBytes | null = null;
  if (entityBytesParam !== null) {
    if (wanted.format !== 'car') throw badRequest('entity_bytes_not_allowed', 'entity-bytes is only for CAR requests (format=car)');
    if (scopeParam !== null && scopeParam !== 'entity') throw badRequest('invalid_dag_scope', `entity-bytes implies dag-scope=entity, not ${scopeParam}`);
    entityBytes = parseEntityBytes(entityBytesParam);
  }
  let scope = (entityBytes ? 'entity' : (scopeParam ?? 'all')) as DagScope;
  const subpath = params.path ?? '';
  if (subpath !== '' && subpath !== '/') {
    if (wanted.format === 'raw') throw badRequest('path_not_allowed', 'raw block requests take no path: GET /ipfs/{cid}');
  }
  const cidText = cid.toString();

  // Where the root block's bytes are, and whether this request may have them.
  let row: BlockRow | null = null;
  let cacheControl = CACHE_PUBLIC_IMMUTABLE;
  let blockLength: number;
  if (cid.multihash.code === IDENTITY_CODE) {
    blockLength = cid.multihash.digest.byteLength;
  } else {
    const missing = () =>
      onlyIfCached(req)
        ? new HttpError(412, 'not_cached', `${cidText} is not in this gateway's store`)
        : new HttpError(404, 'block_not_found', `${cidText} is not available on this gateway`);
    if (cid.multihash.code !== SHA2_256_CODE || (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE)) throw missing();
    const copies = (await findBlockCached(ctx.db, multihashHex(cid))).filter((b) => (cid.code === DAG_PB_CODE ? b.codec === DAG_PB_CODE : true));
    const present: BlockRow[] = [];
    for (const b of copies) if (await ctx.store.has(b.blobSha256)) present.push(b);
    if (present.length === 0) throw missing();
    const grant = await authorizeBlock(req, ctx, [...new Set(present.map((b) => b.blobSha256))], cidText);
    row = present.find((b) => b.blobSha256 === grant.blob)!;
    cacheControl = grant.cacheControl;
    blockLength = row.length;
  }
  // A file has no named links: nothing below it resolves (after the access check: no existence leak).
  if (subpath !== '' && subpath !== '/')
    throw new HttpError(404, 'path_not_found', `${cidText} is a file; "${subpath.slice(0, 200)}" does not resolve under it`);

  const common: Record<string, string> = {
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
    'x-ipfs-path': `/ipfs/${cidText}`,
    'x-ipfs-roots': cidText,
    vary: 'Accept',
  };
  if (wanted.format === 'raw') {
    const etag = `"${cidText}.raw"`;
    const headers: Record<string, string> = {
      ...common,
      'content-type': RAW_TYPE,
      'content-disposition': `attachment; filename="${cidText}.bin"`,
      etag,
      'accept-ranges': 'none',
    };
    if (!url.searchParams.has('format')) headers['content-location'] = `/ipfs/${cidText}?format=raw`;
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers['content-length'] = String(blockLength);
    // A leaf (≤ 2 MiB) in one positional read, before the 200 (a blob gone short is a clean error):
    // a read stream per block (open, four 256 KiB chunks, close) made the GC and the stream
    // machinery most of the raw path's server CPU.
    // The buffer is a reused one (blockBuffers), given back once the response is sent.
    const store = ctx.store as PositionalStore;
    if (req.method !== 'HEAD' && row?.codec === RAW_CODE && blockLength > 0 && store.readRange) {
      const buf = blockBuffers.take(row.length);
      const bytes = await store.readRange(row.blobSha256, { start: row.offset, end: row.offset + row.length - 1 }, buf);
      if (bytes.byteLength !== row.length) throw new HttpError(500, 'blob_short', `${cidText}: ${bytes.byteLength} of ${row.length} bytes in the blob file`);
      res.writeHead(200, headers);
      res.end(bytes, () => blockBuffers.give(buf));
      return;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD' || blockLength === 0) {
      res.end();
      return;
    }
    if (!row) {
      res.end(cid.multihash.digest);
      return;
    }
    if (row.codec === DAG_PB_CODE) {
      res.end((await getNodeCached(ctx.db, row.multihash, row.blobSha256)) ?? new Uint8Array());
      return;
    }
    try {
      await pipeline(ctx.store.createReadStream(row.blobSha256, { start: row.offset, end: row.offset + row.length - 1 }), res);
    } catch (err) {
      if (!res.destroyed) res.destroy(err as Error);
    }
    return;
  }

  // entity-bytes of a UnixFS file (a dag-pb root, or a single raw leaf): resolved against its size
  // before the 200 (a range past the end is a 400); on anything else it is ignored (spec).
  let range: ByteRange | null = null;
  let rootNode: Uint8Array | null = null;
  if (entityBytes && row && cid.code === row.codec) {
    let size = row.length;
    if (row.codec === DAG_PB_CODE) {
      rootNode = await getNodeCached(ctx.db, row.multihash, row.blobSha256);
      if (!rootNode) throw new HttpError(500, 'index_broken', `dag-pb node ${cidText} has no bytes in the index`);
      size = Number(UnixFS.unmarshal(dagPb.decode(rootNode).Data ?? new Uint8Array()).fileSize());
    }
    range = resolveEntityBytes(entityBytes, size);
    if (range === null) scope = 'block';
  }
  const dupsParam = wanted.dups ? 'y' : 'n';
  const etag = `"${cidText}.car.v1.dfs.dups-${dupsParam}.${scope}${entityBytes ? `.bytes-${entityBytes.text}` : ''}"`;
  const headers: Record<string, string> = {
    ...common,
    'content-type': `${CAR_TYPE}; version=1; order=dfs; dups=${dupsParam}`,
    'content-disposition': `attachment; filename="${cidText}.car"`,
    etag,
    'accept-ranges': 'none',
  };
  if (!url.searchParams.has('format')) {
    headers['content-location'] =
      `/ipfs/${cidText}?format=car&dag-scope=${entityBytes ? 'entity' : scope}${entityBytes ? `&entity-bytes=${entityBytes.text}` : ''}&car-dups=${dupsParam}&car-order=dfs&car-version=1`;
  }
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const blob = row?.blobSha256 ?? '';
  let repeated: Promise<Set<string>> | null = null; // one query for both walks (length, then bytes)
  const src: CarSource = {
    node: (mh) => getNodeCached(ctx.db, mh, blob),
    repeated: () => (repeated ??= repeatedBlocks(ctx.db, blob)),
    read: (start, end) => ctx.store.createReadStream(blob, { start, end }),
  };
  const positional = ctx.store as PositionalStore;
  // (the local store's readRange shares one open handle of the blob between close reads: BlobHandles)
  if (positional.readRange) src.readInto = (into, start, end) => positional.readRange!(blob, { start, end }, into);
  if (row?.codec === DAG_PB_CODE && !rootNode) {
    rootNode = await getNodeCached(ctx.db, row.multihash, row.blobSha256);
    if (!rootNode) throw new HttpError(500, 'index_broken', `dag-pb node ${cidText} has no bytes in the index`);
  }
  const rootRow = row && rootNode ? { ...row, node: rootNode } : row;
  // the length is known from the index before the first byte: no chunked framing for the client
  headers['content-length'] = String(await carLength(cid, rootRow, scope, wanted.dups, src, range));
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  try {
    await writeCar(res, cid, rootRow, scope, wanted.dups, src, range);
    res.end();
  } catch (err) {
    // Committed to 200 already: an incomplete CAR is how the spec says a failure mid-stream shows.
    if (!res.destroyed) res.destroy(err as Error);
  }
}

export const routes: Route<ArtifactRoutesContext>[] = [
  { methods: ['GET', 'HEAD'], pattern: /^\/ipfs\/(?<cid>[^/]+)(?<path>\/.*)?$/, handle: handleIpfs as Route<ArtifactRoutesContext>['handle'] },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/ipfs\/?$/,
    handle: () => {
      throw badRequest('invalid_cid', 'GET /ipfs/{cid}: the CID is missing');
    },
  },
];
