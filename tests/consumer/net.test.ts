// The SDK's HTTP layer (lib/sdk/net.ts, lib/sdk/rawget.ts) against real local sockets: one that
// stalls, and one that answers with exact bytes (chunked bodies cut anywhere, truncated, malformed).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
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

describe('rawGet keepAlive (raw blocks: many small requests to one gateway)', () => {
  /** Collects a GET's body through rawGet. */
  async function get(u: URL, keepAlive: boolean): Promise<Buffer> {
    const parts: Buffer[] = [];
    await rawGet(u, {}, { onHead: () => {}, onData: (c) => void parts.push(Buffer.from(c)) }, 5_000, undefined, { keepAlive });
    return Buffer.concat(parts);
  }
  /** An http server whose answer to /n is n random bytes (recorded), counting its connections. */
  async function blockServer(opts: { close?: boolean } = {}) {
    const sent = new Map<string, Buffer>();
    let connections = 0;
    const srv = http.createServer((req, res) => {
      const body = crypto.randomBytes(Number(req.url!.slice(1)));
      sent.set(req.url!, body);
      res.writeHead(200, { 'content-length': String(body.length), ...(opts.close ? { connection: 'close' } : {}) });
      res.end(body);
    });
    srv.on('connection', () => connections++);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    return {
      base,
      sent,
      connections: () => connections,
      close: async () => {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      },
    };
  }

  it('reuses one connection for sequential requests, each body exact (sizes around the 1 MiB read buffer)', async () => {
    const s = await blockServer();
    try {
      for (const n of [1, 0, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 17, 2 * 1024 * 1024 + 3]) {
        const path = `/${n}`;
        expect((await get(new URL(s.base + path), true)).equals(s.sent.get(path)!)).toBe(true);
      }
      expect(s.connections()).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('parallel requests each get their own connection, and the kept ones serve the next wave', async () => {
    const s = await blockServer();
    try {
      for (let wave = 0; wave < 3; wave++) {
        const paths = Array.from({ length: 8 }, (_, i) => `/${65_536 + wave * 8 + i}`);
        const bodies = await Promise.all(paths.map((p) => get(new URL(s.base + p), true)));
        paths.forEach((p, i) => expect(bodies[i]!.equals(s.sent.get(p)!)).toBe(true));
      }
      expect(s.connections()).toBe(8);
    } finally {
      await s.close();
    }
  });

  it('without keepAlive, or when the server says Connection: close, every request has its own connection', async () => {
    const a = await blockServer();
    const b = await blockServer({ close: true });
    try {
      for (let i = 0; i < 3; i++) await get(new URL(`${a.base}/100`), false);
      for (let i = 0; i < 3; i++) await get(new URL(`${b.base}/100`), true);
      expect(a.connections()).toBe(3);
      expect(b.connections()).toBe(3);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a kept connection does not keep the process alive (a CLI exits when its pull is done)', async () => {
    const s = await blockServer();
    try {
      // After the request, an unref'd timer: it only fires (exit 3) if something else keeps the process alive.
      const script = `import('${path.resolve('lib/sdk/rawget.ts')}').then(async (m) => {
        await m.rawGet(new URL('${s.base}/1000'), {}, { onHead() {}, onData() {} }, 5000, undefined, { keepAlive: true });
        setTimeout(() => process.exit(3), 2000).unref();
      });`;
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
      const code = await new Promise((r) => child.on('exit', r));
      expect(code).toBe(0);
      expect(s.connections()).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('a kept connection the server closes when the next request comes is retried once on a new one', async () => {
    // Answers the first request of each connection with keep-alive, then closes the connection as
    // soon as a second request arrives on it (a server's idle close racing the request).
    let connections = 0;
    const body = crypto.randomBytes(5000);
    const socks = new Set<net.Socket>();
    const srv = net.createServer((sock) => {
      connections++;
      socks.add(sock);
      let requests = 0;
      sock.on('data', () => {
        if (++requests === 1) sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
        else sock.destroy();
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const u = new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/b`);
    try {
      expect((await get(u, true)).equals(body)).toBe(true);
      expect((await get(u, true)).equals(body)).toBe(true);
      expect(connections).toBe(2);
    } finally {
      for (const sock of socks) sock.destroy(); // the client keeps the second one
      await new Promise((r) => srv.close(r));
    }
  });

  it('a kept connection that breaks off mid-body is an error, not retried (bytes were delivered)', async () => {
    const body = crypto.randomBytes(5000);
    const srv = net.createServer((sock) => {
      let requests = 0;
      sock.on('data', () => {
        const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        if (++requests === 1) sock.write(Buffer.concat([head, body]));
        else sock.end(Buffer.concat([head, body.subarray(0, 100)]));
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const u = new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/b`);
    try {
      expect((await get(u, true)).equals(body)).toBe(true);
      await expect(get(u, true)).rejects.toThrow(/connection closed after 100 of 5000 bytes/);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
