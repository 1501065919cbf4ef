// A small Server-Sent Events client for GET /api/events (node:http; no browser EventSource in Node).
// Events are hints for the SDK, never trusted: watch() re-reads the chain on each one.
import http from 'node:http';
import https from 'node:https';

export interface ServerEvent {
  /** SSE event name: an event type (`version.current`…), `correction` or `reorg`. */
  event: string;
  id?: string;
  data: string;
}

export interface EventStreamOptions {
  /** Server base URL (the gateway), e.g. http://127.0.0.1:3000 */
  gateway: string;
  models?: string[];
  kinds?: string[];
  lastEventId?: string;
  signal?: AbortSignal;
  /** No byte (event or heartbeat) for this long counts as a lost connection. Default 45 s. */
  idleTimeoutMs?: number;
  onOpen?: () => void;
}

/** Parses an SSE byte stream into events (the WHATWG event-stream format, as far as modeldao sends it). */
export class SseParser {
  private buf = '';
  private event = '';
  private id: string | undefined;
  private data: string[] = [];
  push(chunk: string): ServerEvent[] {
    this.buf += chunk;
    const out: ServerEvent[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\n|\r/)) !== -1) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', id: this.id, data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id' && !value.includes('\0')) this.id = value;
    }
    if (this.buf.length > 1024 * 1024) throw new Error('event stream line longer than 1 MiB');
    return out;
  }
  get lastEventId(): string | undefined {
    return this.id;
  }
}

/**
 * Connects once and yields events until the connection ends (returns) or fails (throws). The caller
 * reconnects with the last id it saw.
 */
export async function* streamEvents(o: EventStreamOptions): AsyncGenerator<ServerEvent> {
  const url = new URL(`${o.gateway.replace(/\/+$/, '')}/api/events`);
  if (o.models?.length) url.searchParams.set('model', o.models.join(','));
  if (o.kinds?.length) url.searchParams.set('kind', o.kinds.join(','));
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (o.lastEventId) headers['last-event-id'] = o.lastEventId;
  const lib = url.protocol === 'https:' ? https : http;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = lib.get(url, { headers, signal: o.signal }, resolve);
    req.on('error', reject);
    req.setTimeout(o.idleTimeoutMs ?? 45_000, () => req.destroy(new Error('no response from the event stream')));
  });
  if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    res.resume();
    throw new Error(`${url.origin}/api/events answered HTTP ${res.statusCode}`);
  }
  o.onOpen?.();
  res.setEncoding('utf8');
  const idle = o.idleTimeoutMs ?? 45_000;
  let timer = setTimeout(() => res.destroy(new Error(`event stream silent for ${idle} ms`)), idle);
  const parser = new SseParser();
  try {
    for await (const chunk of res) {
      clearTimeout(timer);
      timer = setTimeout(() => res.destroy(new Error(`event stream silent for ${idle} ms`)), idle);
      for (const e of parser.push(chunk as string)) yield e;
    }
  } finally {
    clearTimeout(timer);
    res.destroy();
  }
}
