import net from 'node:net';
import { GatewayHttpError } from './net.ts';
import { Spares } from './spares.ts';

// A minimal HTTP/1.1 GET for blob bodies over plain TCP: the socket reads straight into one reusable
// 1 MiB buffer (net.Socket `onread`) and the body is handed to a synchronous consumer (hash + write)
// — no per-chunk allocations or stream machinery. The body is framed by Content-Length or by
// chunked transfer coding (streamed answers: CARs from IPFS gateways); anything else (no length,
// another transfer coding) is reported as `unsupported` and the caller uses node:http instead.

export class RawGetUnsupported extends Error {}

export interface RawHead {
  status: number;
  headers: Record<string, string>;
}

export interface RawGetHandlers {
  /** Called once with the response head for 2xx answers; throw to abort. */
  onHead(head: RawHead): void;
  /** Body bytes; `chunk` is only valid during the call; throw to abort. */
  onData(chunk: Buffer): void;
}

/** Longest chunk-size line (with extensions) or trailer line accepted in a chunked body. */
const MAX_CHUNK_LINE = 4096;

/**
 * Decodes a chunked body (RFC 9112 §7.1) as it arrives: `data` gets the chunks' bytes (views of the
 * input), `end` is called after the last chunk and its trailers. Malformed framing throws.
 */
class ChunkedDecoder {
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  private line = '';
  private left = 0;
  constructor(
    private readonly data: (bytes: Buffer) => void,
    private readonly end: () => void,
  ) {}

  get done(): boolean {
    return this.state === 'done';
  }

  push(buf: Buffer): void {
    let off = 0;
    while (off < buf.length && this.state !== 'done') {
      if (this.state === 'data') {
        const k = Math.min(this.left, buf.length - off);
        this.left -= k;
        const piece = buf.subarray(off, off + k);
        off += k;
        if (this.left === 0) this.state = 'data-crlf';
        this.data(piece);
        continue;
      }
      const nl = buf.indexOf(0x0a, off);
      const upto = nl === -1 ? buf.length : nl + 1;
      this.line += buf.toString('latin1', off, upto);
      off = upto;
      if (this.line.length > MAX_CHUNK_LINE) throw new Error('malformed chunked body: line too long');
      if (nl === -1) break;
      const line = this.line.replace(/\r?\n$/, '');
      this.line = '';
      if (this.state === 'data-crlf') {
        if (line !== '') throw new Error('malformed chunked body: no CRLF after a chunk');
        this.state = 'size';
      } else if (this.state === 'size') {
        const m = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line);
        if (!m) throw new Error(`malformed chunked body: chunk size line ${JSON.stringify(line.slice(0, 40))}`);
        this.left = parseInt(m[1]!, 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.state = 'done'; // the empty line after the trailers
        this.end();
      }
    }
  }
}

const READ_BUFFER = 1024 * 1024;
/**
 * Read buffers of closed connections, for the next ones: as many as the SDK has requests in flight
 * (16 raw blocks at a time). A buffer is only written by its own socket's reads, which stop when the
 * socket is destroyed.
 */
const spareReadBuffers = new Spares<Buffer>(16);

/**
 * An open connection kept for the next request to the same host (`keepAlive`): its socket reads into
 * its own buffer and hands each read to whichever request uses it now.
 */
interface Conn {
  key: string;
  socket: net.Socket;
  buffer: Buffer;
  /** The request using the connection; null while it waits in the idle pool. */
  user: { read(chunk: Buffer): void; gone(err: Error | null): void; timeout(): void } | null;
  idle: NodeJS.Timeout | null;
  closed: boolean;
}

/** Idle keep-alive connections per host:port. */
const idleConns = new Map<string, Conn[]>();
/** Idle connections kept per host (the SDK asks for up to 16 raw blocks at a time). */
const IDLE_PER_HOST = 16;
/** Below Node's default server keepAliveTimeout (5 s), so the server is rarely the one to close first. */
const IDLE_CONN_MS = 3_000;

function takeIdle(key: string): Conn | null {
  const list = idleConns.get(key);
  const conn = list?.pop() ?? null;
  if (list && list.length === 0) idleConns.delete(key);
  if (conn?.idle) clearTimeout(conn.idle);
  if (conn) {
    conn.idle = null;
    conn.socket.ref();
  }
  return conn;
}

function dropIdle(conn: Conn): void {
  const list = idleConns.get(conn.key);
  const i = list?.indexOf(conn) ?? -1;
  if (i !== -1) list!.splice(i, 1);
  if (list && list.length === 0) idleConns.delete(conn.key);
  if (conn.idle) clearTimeout(conn.idle);
  conn.idle = null;
}

function closeConn(conn: Conn): void {
  if (conn.closed) return; // once: its buffer goes back to the spares once
  conn.closed = true;
  dropIdle(conn);
  conn.user = null;
  if (!conn.socket.destroyed) conn.socket.destroy();
  spareReadBuffers.give(conn.buffer);
}

function parkConn(conn: Conn): void {
  conn.user = null;
  conn.socket.setTimeout(0);
  conn.socket.unref(); // a kept connection does not keep the process alive
  const list = idleConns.get(conn.key) ?? [];
  if (list.length >= IDLE_PER_HOST) return closeConn(conn);
  list.push(conn);
  idleConns.set(conn.key, list);
  conn.idle = setTimeout(() => closeConn(conn), IDLE_CONN_MS);
  conn.idle.unref();
}

function openConn(key: string, host: string, port: number): Conn {
  const conn: Conn = {
    key,
    socket: null as unknown as net.Socket,
    buffer: spareReadBuffers.take() ?? Buffer.allocUnsafeSlow(READ_BUFFER),
    user: null,
    idle: null,
    closed: false,
  };
  conn.socket = net.connect({
    host,
    port,
    onread: {
      buffer: conn.buffer,
      callback: (n: number, buf: Uint8Array) => {
        // bytes while idle: the server broke the protocol; the connection is not reused
        if (!conn.user) {
          closeConn(conn);
          return false;
        }
        conn.user.read(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  } as net.NetConnectOpts);
  conn.socket.setNoDelay(true);
  conn.socket.on('error', (e) => (conn.user ? conn.user.gone(e) : closeConn(conn)));
  conn.socket.on('close', () => (conn.user ? conn.user.gone(null) : closeConn(conn)));
  conn.socket.on('timeout', () => (conn.user ? conn.user.timeout() : closeConn(conn)));
  return conn;
}

/** A kept connection closed before answering (the server's idle close raced the request): retried on a new one. */
class StaleConnection extends Error {}

/**
 * GET `url` over plain http; the body goes to `h` (see RawGetHandlers). `keepAlive`: the connection
 * is kept for the next request to the same host when the answer allows it (HTTP/1.1, no
 * `Connection: close`, the body read exactly to its end), and taken from there when one waits: for
 * many small requests (raw blocks), where a TCP connection per request cost both sides more than the
 * request. A kept connection that closes before any byte of its answer is retried once on a new one.
 */
export function rawGet(
  url: URL,
  headers: Record<string, string>,
  h: RawGetHandlers,
  idleTimeoutMs = 30_000,
  signal?: AbortSignal,
  opts: { keepAlive?: boolean } = {},
): Promise<{ received: number; contentLength: number }> {
  if (url.protocol !== 'http:') return Promise.reject(new RawGetUnsupported('only http:'));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 80);
  const key = `${host}:${port}`;
  const keepAlive = opts.keepAlive === true;
  const reused = keepAlive ? takeIdle(key) : null;
  const once = (conn: Conn | null) => request(conn ?? openConn(key, host, port), conn !== null, url, headers, h, idleTimeoutMs, signal, keepAlive);
  if (!reused) return once(null);
  return once(reused).catch((err) => {
    if (err instanceof StaleConnection) return once(null);
    throw err;
  });
}

function request(
  conn: Conn,
  reused: boolean,
  url: URL,
  headers: Record<string, string>,
  h: RawGetHandlers,
  idleTimeoutMs: number,
  signal: AbortSignal | undefined,
  keepAlive: boolean,
): Promise<{ received: number; contentLength: number }> {
  return new Promise((resolve, reject) => {
    let chunked: ChunkedDecoder | null = null;
    let headBuf: Buffer | null = Buffer.alloc(0);
    let head: RawHead | null = null;
    let contentLength = -1;
    let received = 0;
    let errorBody: Buffer[] | null = null;
    let settled = false;
    let anyByte = false;
    /** The answer allows the connection to be used again (set once its head is read). */
    let reusable = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (!err && keepAlive && reusable && !conn.socket.destroyed) parkConn(conn);
      else closeConn(conn);
      if (err) reject(err);
      else resolve({ received, contentLength });
    };
    const data = (chunk: Buffer) => {
      if (errorBody) {
        if (received + chunk.length <= 64 * 1024) errorBody.push(Buffer.from(chunk));
      } else h.onData(chunk);
      received += chunk.length;
    };
    const body = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      if (chunked) {
        if (chunked.done)
          reusable = false; // bytes after the last chunk
        else chunked.push(chunk);
        return;
      }
      const take = Math.min(chunk.length, contentLength - received);
      if (take < chunk.length) reusable = false; // bytes past Content-Length
      data(take === chunk.length ? chunk : chunk.subarray(0, take));
      if (received >= contentLength) done();
    };
    const done = () => {
      if (errorBody) {
        let message = `${head!.status}`;
        let code: string | undefined;
        try {
          const j = JSON.parse(Buffer.concat(errorBody).toString('utf8')) as { error?: { code?: string; message?: string } };
          if (j.error) {
            code = j.error.code;
            message = `${head!.status} ${j.error.code}: ${j.error.message}`;
          }
        } catch {
          /* not JSON */
        }
        reusable = false;
        finish(new GatewayHttpError(head!.status, code, `${url.href} → ${message}`));
      } else finish(null);
    };
    const read = (chunk: Buffer) => {
      if (settled) return;
      anyByte = true;
      try {
        if (head) return body(chunk);
        // The head is usually in the first read: parsed from the read buffer itself, and the
        // body bytes after it are taken from there too (no copy of up to a whole read per request).
        const whole = headBuf!.length === 0 ? chunk : Buffer.concat([headBuf!, chunk]);
        const end = whole.indexOf('\r\n\r\n');
        if (end === -1) {
          if (whole.length > 64 * 1024) return finish(new Error('response head too large'));
          headBuf = whole === chunk ? Buffer.from(chunk) : whole; // the read buffer is reused: keep a copy
          return;
        }
        const lines = whole.subarray(0, end).toString('latin1').split('\r\n');
        const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
        if (!m) return finish(new Error(`not an HTTP response from ${url.host}`));
        const hs: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          if (i > 0) hs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        head = { status: Number(m[2]), headers: hs };
        reusable = m[1] === '1' && !/(^|,)\s*close\s*(,|$)/i.test(hs.connection ?? '');
        const rest = whole.subarray(end + 4); // used before this callback returns
        headBuf = null;
        const te = hs['transfer-encoding']?.toLowerCase();
        if (te === 'chunked') chunked = new ChunkedDecoder(data, done);
        else if (te || hs['content-length'] === undefined || !/^\d+$/.test(hs['content-length'])) {
          reusable = false;
          if (head.status >= 200 && head.status < 300) return finish(new RawGetUnsupported('no Content-Length'));
          return finish(new GatewayHttpError(head.status, undefined, `${url.href} → ${head.status}`));
        } else contentLength = Number(hs['content-length']);
        if (head.status < 200 || head.status >= 300) errorBody = [];
        else h.onHead(head);
        if (contentLength === 0) return done();
        body(rest);
      } catch (err) {
        reusable = false;
        finish(err as Error);
      }
    };
    const gone = (e: Error | null) => {
      if (settled) return;
      reusable = false;
      if (reused && !anyByte) return finish(new StaleConnection(e?.message ?? 'closed'));
      if (e) return finish(head ? new Error(`connection lost after ${received} body bytes (${e.message})`) : e);
      if (!head) return finish(new Error('connection closed before a response'));
      finish(
        new Error(
          chunked
            ? `connection closed after ${received} body bytes, before the end of the chunked body`
            : `connection closed after ${received} of ${contentLength} bytes`,
        ),
      );
    };
    const timeout = () => {
      reusable = false;
      finish(new Error(`no data for ${idleTimeoutMs / 1000} s`));
    };
    conn.user = { read, gone, timeout };
    conn.socket.setTimeout(idleTimeoutMs);
    const onAbort = () => {
      reusable = false;
      finish(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const path = url.pathname + url.search;
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${url.host}`,
      'User-Agent: modeldao-cli',
      'Accept-Encoding: identity',
      `Connection: ${keepAlive ? 'keep-alive' : 'close'}`,
    ];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    conn.socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}
