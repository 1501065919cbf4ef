// The SDK's HTTP layer (lib/sdk/net.ts) against a real local socket that stalls.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody, request } from '../../lib/sdk/net.ts';

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
