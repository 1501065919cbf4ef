import http from 'node:http';
import https from 'node:https';
import type { ErrorKind } from './errors.ts';

// Plain node:http for gateway traffic: no web-stream layer between the socket and the hasher.

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

export class GatewayHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Abort when the socket is idle this long (ms). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Starts a request and resolves with the response (body unread). Network failures reject. */
export function request(url: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'modeldao-cli', ...opts.headers },
        agent: u.protocol === 'https:' ? agents.https : agents.http,
        signal: opts.signal,
      },
      (res) => {
        response = res;
        resolve(res);
      },
    );
    let response: http.IncomingMessage | undefined;
    // Socket idle timeout: covers waiting for the response and stalls while streaming its body. The
    // response is destroyed with the same error, so a reader of its body learns it was the timeout
    // (and not just "aborted").
    const idleMs = opts.idleTimeoutMs ?? 30_000;
    req.setTimeout(idleMs, () => {
      const err = new Error(`no data from ${u.host} for ${idleMs / 1000} s (idle timeout)`);
      response?.destroy(err);
      req.destroy(err);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Reads a whole (small) body; rejects past maxBytes. */
export async function readBody(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > maxBytes) {
      res.destroy();
      throw new Error(`response larger than ${maxBytes} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The failure class of an HTTP error status: 401/403 access, a refused input (400, 409, 413, 415,
 * 422: the same request would fail again) rejected, the rest (5xx, 408, 429, unexpected) network.
 */
export function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'access';
  if ([400, 409, 413, 415, 422].includes(status)) return 'rejected';
  return 'network';
}

/** Turns a non-2xx response into a GatewayHttpError carrying the API's {error:{code,message}}. */
export async function httpError(res: http.IncomingMessage, url: string): Promise<GatewayHttpError> {
  let code: string | undefined;
  let message = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  try {
    const body = JSON.parse((await readBody(res, 64 * 1024)).toString('utf8')) as { error?: { code?: string; message?: string } };
    if (body?.error) {
      code = body.error.code;
      message = `${res.statusCode} ${body.error.code}: ${body.error.message}`;
    }
  } catch {
    res.destroy();
  }
  return new GatewayHttpError(res.statusCode ?? 0, code, `${url} → ${message}`);
}

export async function getJson<T>(url: string, opts: RequestOptions = {}, maxBytes = 16 * 1024 * 1024): Promise<T> {
  const res = await request(url, opts);
  if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) throw await httpError(res, url);
  return JSON.parse((await readBody(res, maxBytes)).toString('utf8')) as T;
}

export function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}
