// An HTTP proxy in front of a gateway that can lie about what it forwards: tests put it between an
// IPFS client and our /ipfs routes. Every upstream failure (the client gave up, the upstream closed
// at teardown) ends that one response and is recorded; none escapes as an unhandled rejection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

export interface GatewayProxy {
  url: string;
  /** every request path seen, in order */
  requests: string[];
  /** answers other than 200 and proxy errors, for failure messages */
  problems: string[];
  close(): Promise<void>;
}

/**
 * `rewrite` gets the upstream's whole answer (and the request path) and returns what to send (or `null` to never answer:
 * a stall), or a promise of it (a slow gateway). The default forwards it unchanged.
 */
export async function startGatewayProxy(
  upstream: string,
  rewrite: (answer: UpstreamAnswer, url: string) => UpstreamAnswer | null | Promise<UpstreamAnswer | null> = (a) => a,
  o: { chunked?: boolean } = {},
): Promise<GatewayProxy> {
  const requests: string[] = [];
  const problems: string[] = [];
  const inflight = new Set<AbortController>();
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const ac = new AbortController();
    inflight.add(ac);
    res.on('close', () => ac.abort());
    void (async () => {
      try {
        const up = await fetch(`${upstream}${req.url}`, { headers: { accept: String(req.headers.accept ?? '') }, signal: ac.signal });
        const body = Buffer.from(await up.arrayBuffer());
        if (up.status !== 200) problems.push(`${up.status} ${req.url} ${body.toString().slice(0, 200)}`);
        const out = await rewrite({ status: up.status, contentType: up.headers.get('content-type') ?? 'application/octet-stream', body }, req.url ?? '');
        if (out === null) return; // stall: never answer
        // chunked: no Content-Length, the body in chunked transfer coding (as some gateways answer)
        res.writeHead(
          out.status,
          o.chunked ? { 'content-type': out.contentType } : { 'content-type': out.contentType, 'content-length': String(out.body.length) },
        );
        res.end(out.body);
      } catch (err) {
        if (!ac.signal.aborted) problems.push(`proxy error ${req.url}: ${(err as Error).message}`);
        res.destroy();
      } finally {
        inflight.delete(ac);
      }
    })();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    problems,
    async close() {
      for (const ac of inflight) ac.abort();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Flips one bit in the middle of every block larger than `minBytes` (file leaves, not the manifest). */
export const flipBigBlocks =
  (minBytes = 64 * 1024) =>
  (a: UpstreamAnswer): UpstreamAnswer => {
    if (a.status !== 200 || a.body.length <= minBytes) return a;
    const body = Buffer.from(a.body);
    body[body.length >> 1]! ^= 0x01;
    return { ...a, body };
  };
