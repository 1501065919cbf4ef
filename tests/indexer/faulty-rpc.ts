// An HTTP JSON-RPC proxy in front of anvil that misbehaves like public RPC endpoints do: HTTP errors,
// requests that hang until the client times out, bodies cut off mid-JSON, and "too many results"
// refusals for wide eth_getLogs ranges.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultyRpc {
  url: string;
  counts: Record<string, number>;
  close(): Promise<void>;
}

export async function startFaultyRpc(
  upstream: string,
  opts: { errorRate?: number; hangRate?: number; truncateRate?: number; maxLogsRange?: number; seed?: number } = {},
): Promise<FaultyRpc> {
  let seed = opts.seed ?? 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const counts = { ok: 0, error500: 0, hang: 0, truncated: 0, tooMany: 0 };
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    let parsed: any;
    try {
      parsed = JSON.parse(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    const r = random();
    if (r < (opts.errorRate ?? 0)) {
      counts.error500++;
      res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
      return;
    }
    if (r < (opts.errorRate ?? 0) + (opts.hangRate ?? 0)) {
      counts.hang++;
      hanging.add(res); // never answered; the client times out
      return;
    }
    const getLogs = calls.find((c) => c.method === 'eth_getLogs');
    if (getLogs && opts.maxLogsRange) {
      const { fromBlock, toBlock } = getLogs.params[0];
      if (Number(toBlock) - Number(fromBlock) + 1 > opts.maxLogsRange) {
        counts.tooMany++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: getLogs.id, error: { code: -32005, message: `query returned more than 10000 results` } }));
        return;
      }
    }
    const upstreamRes = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await upstreamRes.text();
    if (r < (opts.errorRate ?? 0) + (opts.hangRate ?? 0) + (opts.truncateRate ?? 0)) {
      counts.truncated++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    counts.ok++;
    res.writeHead(upstreamRes.status, { 'content-type': 'application/json' }).end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
