import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpError, sendJson, type Route } from '../server/http.ts';
import { parseRange } from '../server/routes/blobs.ts';
import { sendFileRange, type SendFileOptions } from '../server/send-file.ts';
import { headerSafe, hfError, modelInfoBody, parsePathsInfoBody, pathsInfoBody, resolveHeaders, treeBody, type HfFile, type HfVersion } from './protocol.ts';

/**
 * Where an endpoint gets its answers: the server reads its chain index and artifact store
 * (lib/server/routes/hf.ts); `modeldao hf-endpoint` reads the chain and its verified cache
 * (lib/hf/local-endpoint.ts). The routes below are the same for both.
 */
export interface HfSource<V extends HfVersion = HfVersion> {
  /** The approved version `revision` names; throws hfError RepoNotFound / RevisionNotFound / GatedRepo. */
  resolve(repoId: string, revision: string, req: IncomingMessage): Promise<V>;
  /**
   * Whether this request may see the version's files: true for public models and valid tokens, false
   * when a gated model is asked for without a token; throws hfError GatedRepo for a bad token.
   */
  authorize(v: V, req: IncomingMessage): Promise<boolean>;
  /** The file's bytes (a byte range of them): only ever bytes whose sha256 is the manifest's. */
  open(v: V, file: HfFile, range?: { start: number; end: number }): Promise<HfBody>;
}

/**
 * A file's bytes as a source has them: an open file (sent with reused buffers, lib/server/send-file.ts;
 * serveFile closes it), with `readableEnd` while it is still being written and verified; or a stream
 * of exactly the requested range.
 */
export type HfBody = ({ file: FileHandle } & SendFileOptions) | { stream: Readable };

/** A named group of the matched route pattern (each handler below reads only groups its pattern has). */
function group(params: Record<string, string>, name: string): string {
  const v = params[name];
  if (v === undefined) throw new Error(`hf route: the pattern has no "${name}" group`);
  return v;
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'invalid_path', `${what} is not valid percent-encoding`);
  }
}

function gatedRefusal(v: HfVersion): HttpError {
  return hfError(
    401,
    'GatedRepo',
    'access_token_required',
    `${v.repoId} is a gated modeldao model: set HF_TOKEN to a modeldao access token (MODELDAO_PRIVATE_KEY=0x... modeldao access ${v.repoId}) for an account its on-chain access rule allows`,
    { 'www-authenticate': 'Bearer realm="modeldao"' },
  );
}

async function requireFiles<V extends HfVersion>(source: HfSource<V>, v: V, req: IncomingMessage): Promise<void> {
  if (!(await source.authorize(v, req))) throw gatedRefusal(v);
}

function json(req: IncomingMessage, res: ServerResponse, body: unknown, v: HfVersion | null): void {
  const headers: Record<string, string> = { 'cache-control': v?.gated ? 'private, no-store' : 'public, max-age=1' };
  if (v) headers['x-repo-commit'] = v.commit;
  if (req.method === 'HEAD') {
    const payload = Buffer.from(JSON.stringify(body));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(payload.length), ...headers });
    res.end();
    return;
  }
  sendJson(res, 200, body, headers);
}

async function readSmallBody(req: IncomingMessage, max = 256 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw new HttpError(413, 'payload_too_large', `body exceeds ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

async function serveFile<V extends HfVersion>(source: HfSource<V>, req: IncomingMessage, res: ServerResponse, v: V, filePath: string): Promise<void> {
  // Access first: which files a gated model has is part of what a token buys.
  await requireFiles(source, v, req);
  const file = v.files.find((f) => f.path === filePath);
  if (!file) {
    // With X-Repo-Commit the client caches the absence (.no_exist/<commit>/<path>) and asks no more.
    throw hfError(
      404,
      'EntryNotFound',
      'entry_not_found',
      `${v.repoId} at ${v.commit} (v${v.version}) has no file ${JSON.stringify(headerSafe(filePath, 200))}`,
      { 'x-repo-commit': v.commit },
    );
  }
  const headers = resolveHeaders(v, file);
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === headers.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'] as string | undefined;
  const range = ifRange !== undefined && ifRange.trim() !== headers.etag ? null : parseRange(req.headers.range, file.size);
  if (range === 'unsatisfiable') {
    throw new HttpError(416, 'range_not_satisfiable', `range ${headerSafe(String(req.headers.range), 80)} is outside the ${file.size}-byte file`, {
      'content-range': `bytes */${file.size}`,
      'x-repo-commit': v.commit,
    });
  }
  const length = range ? range.end - range.start + 1 : file.size;
  // Open before the status line goes out, so a file we cannot serve is an error the client sees.
  const body = req.method === 'HEAD' || length === 0 ? null : await source.open(v, file, range ?? undefined);
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${file.size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (!body) {
    res.end();
    return;
  }
  try {
    if ('stream' in body) await pipeline(body.stream, res);
    else await sendFileRange(res, body.file, range?.start ?? 0, range ? range.end : file.size - 1, body);
  } catch (err) {
    if (!res.destroyed) res.destroy(err as Error);
  } finally {
    if ('file' in body) await body.file.close();
  }
}

const REPO = '(?<repo>[^/]+)';
const REV = '(?<rev>[^/]+)';

/**
 * The Hub routes under `prefix` ('/hf' on the server, '' for the local endpoint). Repo ids are model
 * slugs (no namespace); anything else under the prefix is a RepoNotFound, never Next's HTML page.
 */
export function hfRoutes<Ctx, V extends HfVersion>(prefix: string, sourceOf: (ctx: Ctx) => HfSource<V>): Route<Ctx>[] {
  const p = prefix.replace(/\/$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const info = async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: Ctx) => {
    const source = sourceOf(ctx);
    const v = await source.resolve(decode(group(params, 'repo'), 'repo id'), params.rev === undefined ? 'main' : decode(params.rev, 'revision'), req);
    json(req, res, modelInfoBody(v, await source.authorize(v, req)), v);
  };
  return [
    { methods: ['GET', 'HEAD'], pattern: new RegExp(`^${p}/api/models/${REPO}/?$`), handle: info },
    { methods: ['GET', 'HEAD'], pattern: new RegExp(`^${p}/api/models/${REPO}/revision/${REV}/?$`), handle: info },
    {
      methods: ['GET'],
      pattern: new RegExp(`^${p}/api/models/${REPO}/tree/${REV}(?:/(?<path>.*))?$`),
      async handle(req, res, params, ctx) {
        const source = sourceOf(ctx);
        const v = await source.resolve(decode(group(params, 'repo'), 'repo id'), decode(group(params, 'rev'), 'revision'), req);
        await requireFiles(source, v, req);
        const dir = decode(params.path ?? '', 'path').replace(/^\/+|\/+$/g, '');
        const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
        const body = treeBody(v, dir, q.get('recursive') === 'true' || q.get('recursive') === 'True' || q.get('recursive') === '1');
        if (!body)
          throw hfError(404, 'EntryNotFound', 'entry_not_found', `${v.repoId} at ${v.commit} has no folder ${JSON.stringify(headerSafe(dir, 200))}`, {
            'x-repo-commit': v.commit,
          });
        json(req, res, body, v);
      },
    },
    {
      methods: ['POST'],
      pattern: new RegExp(`^${p}/api/models/${REPO}/paths-info/${REV}/?$`),
      async handle(req, res, params, ctx) {
        const source = sourceOf(ctx);
        const v = await source.resolve(decode(group(params, 'repo'), 'repo id'), decode(group(params, 'rev'), 'revision'), req);
        await requireFiles(source, v, req);
        const paths = parsePathsInfoBody(await readSmallBody(req), String(req.headers['content-type'] ?? ''));
        json(req, res, pathsInfoBody(v, paths), v);
      },
    },
    {
      methods: ['GET', 'HEAD'],
      pattern: new RegExp(`^${p}/${REPO}/resolve/${REV}/(?<path>.+)$`),
      async handle(req, res, params, ctx) {
        const source = sourceOf(ctx);
        const v = await source.resolve(decode(group(params, 'repo'), 'repo id'), decode(group(params, 'rev'), 'revision'), req);
        await serveFile(source, req, res, v, decode(group(params, 'path'), 'file path'));
      },
    },
    {
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      pattern: new RegExp(`^${p}(?:/.*)?$`),
      handle(req) {
        const path = (req.url ?? '').split('?')[0]!;
        throw hfError(
          404,
          'RepoNotFound',
          'not_found',
          `no such repository or route on this modeldao Hub endpoint: ${req.method} ${headerSafe(path, 200)} (repo ids are model slugs, e.g. /api/models/tiny-lm)`,
        );
      },
    },
  ];
}
