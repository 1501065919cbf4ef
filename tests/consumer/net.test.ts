// The SDK's HTTP layer (lib/sdk/net.ts, lib/sdk/rawget.ts) against real local sockets: one that
// stalls, and one that answers with exact bytes (chunked bodies cut anywhere, truncated, malformed).
import crypto from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody, request } from '../../lib/sdk/net.ts';
import { rawGet } from '../../lib/sdk/rawget.ts';

let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/stall-body') {
      // Headers and a first piece of the body, then nothing: a gateway stuck mid-manifest.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"schema":');
      return;
    }
    // /stall-head: never answers at all
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('a stalled transfer names the idle timeout', () => {
  it('body stops arriving: the error says idle timeout, not just "aborted"', async () => {
    const res = await request(`${url}/stall-body`, { idleTimeoutMs: 300 });
    await expect(readBody(res, 1 << 20)).rejects.toThrow(/no data from 127\.0\.0\.1:\d+ for 0\.3 s \(idle timeout\)/);
  });

  it('no response at all: the same message', async () => {
    await expect(request(`${url}/stall-head`, { idleTimeoutMs: 300 })).rejects.toThrow(/idle timeout/);
  });
});

/** A server that answers every connection with `reply`, written in pieces of `step` bytes, then closes. */
async function rawServer(reply: Buffer, step: number): Promise<{ url: URL; close: () => Promise<void> }> {
  const srv = net.createServer((sock) => {
    sock.once('data', async () => {
      for (let off = 0; off < reply.length; off += step) {
        sock.write(reply.subarray(off, off + step));
        await new Promise((r) => setImmediate(r));
      }
      sock.end();
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/x`),
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

/** `body` as a chunked HTTP answer in chunks of `size` bytes (with a chunk extension and a trailer). */
function chunkedAnswer(body: Buffer, size: number, { end = true } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/vnd.ipld.car\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (let off = 0; off < body.length; off += size) {
    const piece = body.subarray(off, off + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}${off === 0 ? ';ext=1' : ''}\r\n`), piece, Buffer.from('\r\n'));
  }
  if (end) parts.push(Buffer.from('0\r\nx-trailer: 1\r\n\r\n'));
  return Buffer.concat(parts);
}

async function rawGetBody(reply: Buffer, step: number): Promise<Buffer> {
  const s = await rawServer(reply, step);
  const got: Buffer[] = [];
  try {
    await rawGet(s.url, {}, { onHead: () => {}, onData: (c) => void got.push(Buffer.from(c)) }, 5000);
    return Buffer.concat(got);
  } finally {
    await s.close();
  }
}

describe('rawGet: chunked bodies (streamed answers such as CARs)', () => {
  const body = crypto.randomBytes(200_000);

  it('gives the body byte for byte however the chunks and the socket reads are cut', async () => {
    for (const [size, step] of [
      [1, 7],
      [1000, 3],
      [65_536, 1000],
      [300_000, 65_536],
    ] as const) {
      const got = await rawGetBody(chunkedAnswer(size === 1 ? body.subarray(0, 500) : body, size), step);
      expect(got.equals(size === 1 ? body.subarray(0, 500) : body), `chunks of ${size}, reads of ${step}`).toBe(true);
    }
  });

  it('a connection closed before the last chunk is an error, not a short body', async () => {
    await expect(rawGetBody(chunkedAnswer(body, 10_000, { end: false }), 65_536)).rejects.toThrow(/before the end of the chunked body/);
  });

  it('a malformed chunk size is an error', async () => {
    const bad = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), Buffer.from('zz\r\nhello\r\n0\r\n\r\n')]);
    await expect(rawGetBody(bad, 1000)).rejects.toThrow(/malformed chunked body/);
  });

  it('an aborted signal ends the request with its reason', async () => {
    const srv = http.createServer((_req, res) => {
      res.writeHead(200);
      res.write('a first piece, then nothing');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const ac = new AbortController();
    const got = rawGet(
      new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`),
      {},
      { onHead: () => {}, onData: () => ac.abort(new Error('stalled')) },
      5000,
      ac.signal,
    );
    await expect(got).rejects.toThrow('stalled');
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });
});
