import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpAnswerOf } from './domain-errors.ts';

/** Every API error has this shape: `{ "error": { "code": "…", "message": "…" } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The HttpError for `err`: itself, or a domain error mapped by lib/server/domain-errors.ts; null otherwise. */
export function asHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  const a = httpAnswerOf(err);
  return a ? new HttpError(a.status, a.code, a.message, a.headers) : null;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(payload.length),
    ...headers,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  const http = asHttpError(err);
  if (http) {
    sendJson(res, http.status, { error: { code: http.code, message: http.message } }, http.headers);
    return;
  }
  console.error('[server] unexpected error', err);
  sendJson(res, 500, { error: { code: 'internal', message: 'internal server error' } });
}

/** Reads a small JSON body (manifests, access requests) with a hard size cap. */
export async function readJsonBody(req: IncomingMessage, maxBytes = 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new HttpError(413, 'payload_too_large', `body exceeds ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

export type RouteParams = Record<string, string>;
export type RouteHandler<Ctx> = (req: IncomingMessage, res: ServerResponse, params: RouteParams, ctx: Ctx) => Promise<void> | void;
export interface Route<Ctx> {
  methods: string[];
  /** Path pattern with named groups, matched against the URL path (no query). */
  pattern: RegExp;
  handle: RouteHandler<Ctx>;
}

/**
 * The plain node:http router for the hot paths (blobs, uploads, consumer API). Returns false when no
 * route matches so the caller can hand the request to Next.
 */
export function createRouter<Ctx>(routes: Route<Ctx>[], ctx: () => Ctx) {
  return async function route(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let pathMatched = false;
    for (const r of routes) {
      const m = r.pattern.exec(pathname);
      if (!m) continue;
      pathMatched = true;
      if (!r.methods.includes(req.method ?? 'GET')) continue;
      try {
        await r.handle(req, res, { ...(m.groups ?? {}) }, ctx());
      } catch (err) {
        sendError(res, err);
      }
      return true;
    }
    if (pathMatched) {
      sendError(res, new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${pathname}`));
      return true;
    }
    return false;
  };
}

/**
 * Whether every segment of the URL's path decodes (`/models/%ff`, `/proposals/%` do not). Next
 * answers such paths 400 in dev but 500 in production, so the plain server decides for both modes.
 */
export function pathDecodes(url: string): boolean {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

const BAD_PAGE_URL_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bad request · modeldao</title><meta name="robots" content="noindex">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}code{background:#f2f2f2;padding:0 .2em}</style>
</head><body><main><h1>400 — this address cannot be read</h1>
<p>The page address contains malformed percent-encoding (a <code>%</code> not followed by a valid UTF-8 byte sequence), so it names no page.</p>
<p><a href="/">Go to the models</a></p></main></body></html>
`;

/** The 400 page for a page URL that does not decode (HTML; no request detail is echoed). */
export function sendBadPageUrl(res: ServerResponse, head: boolean): void {
  const body = Buffer.from(BAD_PAGE_URL_HTML);
  res.writeHead(400, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : body);
}
