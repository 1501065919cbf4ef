import type { PinningServiceConfig } from '../env.ts';

// A client for the IPFS Pinning Service API 1.0 (docs/specs/ipfs-pinning-service.yaml, vendored from
// ipfs/pinning-services-api-spec). The token is sent only as the Authorization header of requests to
// the configured endpoint; it never appears in an error message.

export type RemoteStatus = 'queued' | 'pinning' | 'pinned' | 'failed';
export const REMOTE_STATUSES: readonly RemoteStatus[] = ['queued', 'pinning', 'pinned', 'failed'];

export interface PinRequest {
  cid: string;
  name: string;
  origins: string[];
  meta: Record<string, string>;
}

export interface PinStatus {
  requestid: string;
  status: RemoteStatus;
  created: string;
  pin: { cid: string; name?: string };
  delegates: string[];
  info?: Record<string, string>;
}

export class PinningServiceError extends Error {
  override name = 'PinningServiceError';
  constructor(
    /** HTTP status, or null when the service could not be reached / did not answer in time */
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

const clip = (s: unknown, n = 200) =>
  String(s ?? '')
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .slice(0, n);

export class PinningClient {
  constructor(
    private readonly svc: PinningServiceConfig,
    private readonly timeoutMs: number,
  ) {}

  get name(): string {
    return this.svc.name;
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.svc.endpoint}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.svc.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') throw new PinningServiceError(null, `no answer within ${this.timeoutMs} ms`);
      throw new PinningServiceError(null, `unreachable (${clip(e.cause?.code ?? e.message, 80)})`);
    }
    const text = await res.text().catch(() => '');
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, json };
    const failure = (json as { error?: { reason?: string; details?: string } } | null)?.error;
    const reason = failure?.reason ? `${clip(failure.reason, 80)}${failure.details ? `: ${clip(failure.details)}` : ''}` : clip(text, 120) || res.statusText;
    throw new PinningServiceError(res.status, `HTTP ${res.status}${reason ? ` ${reason}` : ''}`);
  }

  private static pinStatus(json: unknown, what: string): PinStatus {
    const p = json as PinStatus | null;
    if (!p || typeof p.requestid !== 'string' || !REMOTE_STATUSES.includes(p.status)) {
      throw new PinningServiceError(200, `${what}: the answer is not a PinStatus`);
    }
    return p;
  }

  /** POST /pins */
  async add(pin: PinRequest): Promise<PinStatus> {
    const r = await this.call('POST', '/pins', pin);
    return PinningClient.pinStatus(r.json, 'POST /pins');
  }

  /** GET /pins/{requestid}; null when the service no longer knows it (404). */
  async get(requestId: string): Promise<PinStatus | null> {
    try {
      const r = await this.call('GET', `/pins/${encodeURIComponent(requestId)}`);
      return PinningClient.pinStatus(r.json, 'GET /pins/{requestid}');
    } catch (err) {
      if (err instanceof PinningServiceError && err.status === 404) return null;
      throw err;
    }
  }

  /** The request for exactly this CID and name, in any status (after a crash: was it sent?). */
  async find(cid: string, name: string): Promise<PinStatus | null> {
    const q = new URLSearchParams({ cid, name, match: 'exact', status: REMOTE_STATUSES.join(','), limit: '10' });
    const r = await this.call('GET', `/pins?${q}`);
    const results = (r.json as { results?: unknown[] } | null)?.results;
    if (!Array.isArray(results)) throw new PinningServiceError(200, 'GET /pins: the answer is not a PinResults');
    const found = results.map((x) => PinningClient.pinStatus(x, 'GET /pins')).filter((p) => p.pin?.cid === cid);
    // the newest one is the one a crashed POST created
    found.sort((a, b) => String(b.created).localeCompare(String(a.created)));
    return found[0] ?? null;
  }

  /** DELETE /pins/{requestid}; a request the service does not know (404) is already gone. */
  async remove(requestId: string): Promise<void> {
    try {
      await this.call('DELETE', `/pins/${encodeURIComponent(requestId)}`);
    } catch (err) {
      if (err instanceof PinningServiceError && err.status === 404) return;
      throw err;
    }
  }
}
