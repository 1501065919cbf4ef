import net from 'node:net';
import { GatewayHttpError } from './net.ts';

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
 * Read buffers of finished requests, for the next ones: a fresh 1 MiB per request (one per block
 * when raw blocks are fetched one by one) is external memory to V8, whose growth starts full GCs.
 * A buffer is only written by its own socket's reads, which stop when the socket is destroyed.
 */
const spareReadBuffers: Buffer[] = [];
const SPARE_READ_BUFFERS = 8;

export function rawGet(
  url: URL,
  headers: Record<string, string>,
  h: RawGetHandlers,
  idleTimeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<{ received: number; contentLength: number }> {
  if (url.protocol !== 'http:') return Promise.reject(new RawGetUnsupported('only http:'));
  return new Promise((resolve, reject) => {
    let chunked: ChunkedDecoder | null = null;
    let headBuf: Buffer | null = Buffer.alloc(0);
    let head: RawHead | null = null;
    let contentLength = -1;
    let received = 0;
    let errorBody: Buffer[] | null = null;
    let settled = false;
    const readBuffer = spareReadBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER);
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (spareReadBuffers.length < SPARE_READ_BUFFERS) spareReadBuffers.push(readBuffer);
      signal?.removeEventListener('abort', onAbort);
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
      if (chunked) return chunked.push(chunk);
      const take = Math.min(chunk.length, contentLength - received);
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
        finish(new GatewayHttpError(head!.status, code, `${url.href} → ${message}`));
      } else finish(null);
    };
    const socket: net.Socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          if (settled) return false;
          try {
            const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
            if (head) {
              body(chunk);
              return;
            }
            headBuf = Buffer.concat([headBuf!, chunk]);
            const end = headBuf.indexOf('\r\n\r\n');
            if (end === -1) {
              if (headBuf.length > 64 * 1024) finish(new Error('response head too large'));
              return;
            }
            const lines = headBuf.subarray(0, end).toString('latin1').split('\r\n');
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
            if (!m) return finish(new Error(`not an HTTP response from ${url.host}`));
            const hs: Record<string, string> = {};
            for (const l of lines.slice(1)) {
              const i = l.indexOf(':');
              if (i > 0) hs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
            }
            head = { status: Number(m[1]), headers: hs };
            const rest = Buffer.from(headBuf.subarray(end + 4));
            headBuf = null;
            const te = hs['transfer-encoding']?.toLowerCase();
            if (te === 'chunked') chunked = new ChunkedDecoder(data, done);
            else if (te || hs['content-length'] === undefined || !/^\d+$/.test(hs['content-length'])) {
              if (head.status >= 200 && head.status < 300) return finish(new RawGetUnsupported('no Content-Length'));
              return finish(new GatewayHttpError(head.status, undefined, `${url.href} → ${head.status}`));
            } else contentLength = Number(hs['content-length']);
            if (head.status < 200 || head.status >= 300) errorBody = [];
            else h.onHead(head);
            if (contentLength === 0) return done();
            body(rest);
          } catch (err) {
            finish(err as Error);
          }
        },
      },
    } as net.NetConnectOpts);
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs, () => finish(new Error(`no data for ${idleTimeoutMs / 1000} s`)));
    socket.on('error', (e) => finish(head ? new Error(`connection lost after ${received} body bytes (${e.message})`) : e));
    socket.on('close', () => {
      if (settled) return;
      if (!head) return finish(new Error('connection closed before a response'));
      finish(
        new Error(
          chunked
            ? `connection closed after ${received} body bytes, before the end of the chunked body`
            : `connection closed after ${received} of ${contentLength} bytes`,
        ),
      );
    });
    const onAbort = () => finish(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const path = url.pathname + url.search;
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${url.host}`, 'User-Agent: modeldao-cli', 'Accept-Encoding: identity', 'Connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}
