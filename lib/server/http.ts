import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessError, type AccessErrorKind } from '../access/errors.ts';

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

const ACCESS_STATUS: Record<AccessErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 502,
};

/**
 * The HTTP answer for an error thrown by a domain module (domain code never imports this layer):
 * an HttpError as it is, an AccessError by its kind; undefined for anything else.
 */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof AccessError) {
    const status = ACCESS_STATUS[err.kind];
    // RFC 6750 §3: a missing or refused bearer token is answered with a challenge.
    let headers: Record<string, string> = {};
    if (err.code === 'access_token_required') headers = { 'www-authenticate': 'Bearer realm="modeldao"' };
    else if (status === 401 && /token/.test(err.code)) headers = { 'www-authenticate': 'Bearer error="invalid_token"' };
    return new HttpError(status, err.code, err.message, headers);
  }
  return undefined;
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
  const http = toHttpError(err);
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
