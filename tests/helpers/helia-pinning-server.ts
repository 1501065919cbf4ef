// @helia/pinning-service-api-server (a pinning service modeldao did not write) run on loopback for the
// interop test. It is built on Helia 5 / libp2p 2 (the app runs Helia 7 / libp2p 3), so its Helia and
// libp2p modules are loaded from where npm put that package's own dependencies (Node's resolution
// from its directory, not the app's). Its node is offline: TCP on 127.0.0.1 only, noise, yamux,
// identify, bitswap; no bootstrap, mDNS, DHT, autoNAT, UPnP, relay, WebRTC/WebSockets, delegated
// routing or trustless gateways (Helia 5's defaults have all of them: every default is replaced).
// Helia 5's `createHelia` is not used: it imports its default libp2p config, whose WebRTC transport
// loads a native module (node-datachannel) that npm never built (install scripts do not run here), so
// the node is assembled from `libp2p` and `@helia/utils` (what createHelia does, minus the defaults).
// One router, a no-op: the server calls `helia.routing.provide()` after every pin, and with no
// router that throws "No content routers available" and turns the `pinned` pin into `failed`.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { installNode20Polyfills } from '../../lib/ipfs/polyfills.ts';
import { repoRoot } from '../../lib/repo-root.ts';

/** Node's package resolution (node_modules up the tree, `exports["."].import`) from `fromDir`. */
function resolveFrom(fromDir: string, name: string): { dir: string; url: string } {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    const pkgFile = path.join(pkgDir, 'package.json');
    if (fs.existsSync(pkgFile)) {
      const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, unknown>; main?: string };
      const dot = pkg.exports?.['.'];
      const entry =
        typeof dot === 'string'
          ? dot
          : ((dot as { import?: string | { default?: string }; default?: string } | undefined)?.import ?? (dot as { default?: string })?.default);
      const file = typeof entry === 'string' ? entry : (entry?.default ?? pkg.main ?? 'index.js');
      return { dir: pkgDir, url: pathToFileURL(path.join(pkgDir, file)).href };
    }
    if (dir === path.dirname(dir)) throw new Error(`${name} not found from ${fromDir}`);
  }
}

export interface HeliaPinningServer {
  /** http://127.0.0.1:<port> */
  url: string;
  token: string;
  /** the Helia 5 node's multiaddrs (its pin `delegates`) */
  multiaddrs: string[];
  /** the node's own blockstore (no network behind it): what it really holds */
  blocks: { has(cid: string): Promise<boolean>; get(cid: string): Promise<Uint8Array> };
  /** peer ids the Helia node is connected to */
  peers(): string[];
  /** CIDs pinned on the Helia node (helia.pins.ls) */
  pinned(): Promise<string[]>;
  /** every request: method and path, response status */
  log: { method: string; url: string; status: number }[];
  stop(): Promise<void>;
}

export async function startHeliaPinningServer(opts: { token: string }): Promise<HeliaPinningServer> {
  installNode20Polyfills();
  const serverPkg = resolveFrom(repoRoot, '@helia/pinning-service-api-server');
  const heliaPkg = resolveFrom(serverPkg.dir, 'helia');
  const load = async (name: string, from = heliaPkg.dir) => import(resolveFrom(from, name).url);
  const [{ Helia }, { createLibp2p }, { tcp }, { noise }, { yamux }, { identify }, { bitswap }, { MemoryBlockstore }, { MemoryDatastore }, { CID }, fastify] =
    await Promise.all([
      load('@helia/utils'),
      load('libp2p'),
      load('@libp2p/tcp'),
      load('@chainsafe/libp2p-noise'),
      load('@chainsafe/libp2p-yamux'),
      load('@libp2p/identify'),
      load('@helia/block-brokers'),
      load('blockstore-core'),
      load('datastore-core'),
      load('multiformats'),
      load('fastify', serverPkg.dir),
    ]);
  const { createPinningServiceAPIServer } = await import(serverPkg.url);
  const blockstore = new MemoryBlockstore();
  const noopRouter = {
    async *findProviders() {},
    async provide() {},
  };
  const datastore = new MemoryDatastore();
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    services: { identify: identify() },
    datastore,
    start: false,
  });
  const helia = new Helia({ libp2p, blockstore, datastore, blockBrokers: [bitswap()], routers: [noopRouter] });
  await helia.start();
  const log: HeliaPinningServer['log'] = [];
  const app = (fastify.default ?? fastify)();
  app.addHook('onResponse', async (req: { method: string; url: string }, reply: { statusCode: number }) => {
    log.push({ method: req.method, url: req.url, status: reply.statusCode });
  });
  const server = await createPinningServiceAPIServer(helia, {
    fastify: app,
    validateAccessToken: async (token: string | undefined) => {
      if (token !== opts.token) throw new Error('bad token');
      return { id: 'modeldao' };
    },
    listen: { host: '127.0.0.1', port: 0 },
  });
  const address = server.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    token: opts.token,
    multiaddrs: helia.libp2p.getMultiaddrs().map((m: { toString(): string }) => m.toString()),
    blocks: {
      has: (cid) => blockstore.has(CID.parse(cid)),
      get: (cid) => blockstore.get(CID.parse(cid)),
    },
    peers: () => helia.libp2p.getPeers().map((p: { toString(): string }) => p.toString()),
    async pinned() {
      const out: string[] = [];
      for await (const p of helia.pins.ls()) out.push(p.cid.toString());
      return out;
    },
    log,
    async stop() {
      await server.close();
      await helia.stop();
    },
  };
}
