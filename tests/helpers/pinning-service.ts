// A pinning service for tests that speaks the IPFS Pinning Service API 1.0 and checks every request
// and every response against the vendored OpenAPI document (docs/specs/ipfs-pinning-service.yaml):
// a request that violates it gets a 400 and is recorded in `violations`, as is any response of ours
// that would. It reports `pinned` only after its own Helia node (TCP, noise, yamux, bitswap; no
// routing) dialled the pin's `origins` and fetched every block of the DAG (helia.pins.add walks it;
// bitswap checks every block against its CID). Faults can be injected: down (connection reset),
// 401, 409, 500, slow (handles the request at once, answers after `slowMs`), late (handles it only
// after `slowMs`, as a loaded service would), and `hold` keeps new pins in `pinning`. As the spec asks,
// dialling `origins` is best effort: a pin fails only when its blocks did not arrive in time from any
// connected peer. `refuseOrigins` makes it a service that cannot dial out (behind NAT): it drops its
// connections and dials no origin, so it gets blocks only from peers that dial its `delegates`.
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { CID } from 'multiformats/cid';
import { OpenApi } from './openapi.ts';
import { offlineHeliaOptions, offlineLibp2pOptions } from '../../lib/ipfs/node.ts';
import { installNode20Polyfills } from '../../lib/ipfs/polyfills.ts';
import { repoRoot } from '../../lib/repo-root.ts';

export type Fault = 'down' | '401' | '409' | '500' | 'slow' | 'late';

export interface StoredPin {
  requestid: string;
  status: 'queued' | 'pinning' | 'pinned' | 'failed';
  created: string;
  pin: { cid: string; name?: string; origins?: string[]; meta?: Record<string, string> };
  info?: Record<string, string>;
  /** blocks fetched over bitswap for this pin */
  blocks: number;
}

export interface TestPinningService {
  url: string;
  token: string;
  pins: Map<string, StoredPin>;
  /** every request received: method, path, operation result (status), time */
  log: { method: string; path: string; status: number; at: number; name?: string; fault?: Fault }[];
  /** spec violations seen in requests (ours) or in the service's own answers */
  violations: string[];
  /** successful POST /pins per name (a duplicate would show as 2) */
  created: Map<string, number>;
  /** the next `count` requests get `fault` */
  fault(kind: Fault, count: number): void;
  /** while true, new pins stay in `pinning` */
  hold(on: boolean): void;
  /** while true, no origin is dialled (and turning it on closes every connection the node has) */
  refuseOrigins(on: boolean): Promise<void>;
  /** peer ids the service's node is connected to */
  connectedPeers(): string[];
  stop(): Promise<void>;
}

export async function startPinningService(opts: { token?: string; slowMs?: number; port?: number; fetchTimeoutMs?: number } = {}): Promise<TestPinningService> {
  installNode20Polyfills();
  const spec = new OpenApi(path.join(repoRoot, 'docs', 'specs', 'ipfs-pinning-service.yaml'));
  const token = opts.token ?? `test-${crypto.randomBytes(12).toString('hex')}`;
  const { createHelia } = await import('helia');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const helia = await createHelia({ ...offlineHeliaOptions(), libp2p: await offlineLibp2pOptions({ listen: ['/ip4/127.0.0.1/tcp/0'] }) } as never);
  await helia.start();
  const delegates = helia.libp2p.getMultiaddrs().map((m) => m.toString());
  const pins = new Map<string, StoredPin>();
  const log: TestPinningService['log'] = [];
  const violations: string[] = [];
  const created = new Map<string, number>();
  let faultKind: Fault | null = null;
  let faultCount = 0;
  let holding = false;
  let noOrigins = false;
  const fetchTimeoutMs = opts.fetchTimeoutMs ?? 60_000;
  const held: (() => void)[] = [];

  const publicPin = (p: StoredPin) => ({
    requestid: p.requestid,
    status: p.status,
    created: p.created,
    pin: p.pin,
    delegates,
    ...(p.info ? { info: p.info } : {}),
  });

  async function unpin(cid: string): Promise<void> {
    try {
      for await (const _ of helia.pins.rm(CID.parse(cid))) void _;
    } catch {
      /* not pinned (any more) */
    }
  }

  async function fetchAll(p: StoredPin): Promise<void> {
    await new Promise<void>((r) => (holding ? held.push(r) : r()));
    if (!pins.has(p.requestid)) return;
    p.status = 'pinning';
    try {
      if (!noOrigins) {
        for (const o of p.pin.origins ?? []) await helia.libp2p.dial(multiaddr(o), { signal: AbortSignal.timeout(10_000) }).catch(() => {});
      }
      const signal = AbortSignal.timeout(fetchTimeoutMs);
      for await (const _cid of helia.pins.add(CID.parse(p.pin.cid), { signal })) p.blocks++;
      if (pins.has(p.requestid)) p.status = 'pinned';
      else await unpin(p.pin.cid);
    } catch (err) {
      p.status = 'failed';
      p.info = { status_details: String((err as Error).message).slice(0, 200) };
    }
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://pinning.invalid');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const entry: TestPinningService['log'][number] = { method: req.method!, path: url.pathname, status: 0, at: Date.now() };
    log.push(entry);
    const send = (status: number, payload?: unknown) => {
      entry.status = status;
      const problems = spec.validateResponse(req.method!, url.pathname, status, payload === undefined ? undefined : 'application/json', payload);
      violations.push(...problems.map((p) => `response: ${p}`));
      if (payload === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const failure = (status: number, reason: string, details?: string) => send(status, { error: { reason, ...(details ? { details } : {}) } });

    if (faultCount > 0 && faultKind) {
      faultCount--;
      const kind = faultKind;
      entry.fault = kind;
      if (kind === 'down') return void req.socket.destroy();
      if (kind === '401') return failure(401, 'UNAUTHORIZED', 'Access token is missing or invalid');
      if (kind === '409') return failure(409, 'INSUFFICIENT_FUNDS', 'Unable to process request due to the lack of funds');
      if (kind === '500') return failure(500, 'INTERNAL_SERVER_ERROR', 'Explanation for humans with more details');
      if (kind === 'late') await new Promise((r) => setTimeout(r, opts.slowMs ?? 3000));
      // handles the request now, answers late: the client has given up by then
      else {
        const slowMs = opts.slowMs ?? 3000;
        const end = res.end.bind(res);
        res.end = ((...a: unknown[]) => (setTimeout(() => (end as (...x: unknown[]) => void)(...a), slowMs), res)) as typeof res.end;
      }
    }
    const problems = spec.validateRequest(req.method!, url, req.headers, body);
    if (problems.length > 0) {
      violations.push(...problems.map((p) => `request ${req.method} ${url.pathname}: ${p}`));
      return failure(400, 'BAD_REQUEST', problems.join('; ').slice(0, 500));
    }
    if (req.headers.authorization !== `Bearer ${token}`) return failure(401, 'UNAUTHORIZED', 'Access token is missing or invalid');
    const found = spec.find(req.method!, url.pathname)!;
    switch (found.operation.operationId) {
      case 'addPin': {
        const pin = body as StoredPin['pin'];
        entry.name = pin.name;
        const p: StoredPin = { requestid: crypto.randomUUID(), status: 'queued', created: new Date().toISOString(), pin, blocks: 0 };
        pins.set(p.requestid, p);
        if (pin.name) created.set(pin.name, (created.get(pin.name) ?? 0) + 1);
        void fetchAll(p);
        return send(202, publicPin(p));
      }
      case 'getPins': {
        const cids = url.searchParams.get('cid')?.split(',');
        const name = url.searchParams.get('name');
        const statuses = url.searchParams.get('status')?.split(',') ?? ['pinned'];
        const limit = Number(url.searchParams.get('limit') ?? 10);
        const all = [...pins.values()].filter(
          (p) => (!cids || cids.includes(p.pin.cid)) && (name === null || p.pin.name === name) && statuses.includes(p.status),
        );
        return send(200, { count: all.length, results: all.slice(0, limit).map(publicPin) });
      }
      case 'getPinByRequestId': {
        const p = pins.get(found.operation.params.requestid!);
        if (!p) return failure(404, 'NOT_FOUND', 'no such pin request');
        entry.name = p.pin.name;
        return send(200, publicPin(p));
      }
      case 'deletePinByRequestId': {
        const p = pins.get(found.operation.params.requestid!);
        if (!p) return failure(404, 'NOT_FOUND', 'no such pin request');
        entry.name = p.pin.name;
        pins.delete(p.requestid);
        if (p.status === 'pinned') await unpin(p.pin.cid);
        return send(202);
      }
      default:
        return failure(400, 'NOT_IMPLEMENTED', `${found.operation.operationId} is not used by modeldao`);
    }
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    pins,
    log,
    violations,
    created,
    fault(kind, count) {
      faultKind = kind;
      faultCount = count;
    },
    async refuseOrigins(on) {
      noOrigins = on;
      if (on) await Promise.all(helia.libp2p.getConnections().map((c) => c.close().catch(() => {})));
    },
    connectedPeers: () => [...new Set(helia.libp2p.getConnections().map((c) => c.remotePeer.toString()))],
    hold(on) {
      holding = on;
      if (!on) for (const r of held.splice(0)) r();
    },
    async stop() {
      holding = false;
      for (const r of held.splice(0)) r();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await helia.stop();
    },
  };
}
