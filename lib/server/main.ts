// The custom server: plain node:http handlers for the byte paths and the consumer API (Next route
// handlers strip Content-Length, stream at about half the speed and serve small JSON at ~2% of the
// rate), then Next for pages. The indexer runs in the same process (PGlite is single-process).
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Env } from '../env.ts';
import { loadDeployment, type Deployment } from '../contracts/deployment.ts';
import { createChainClient } from '../chain/client.ts';
import { openDatabase, type Database } from '../../db/client.ts';
import { openInvalidationBus } from '../../db/notify.ts';
import { startIndexer, type Indexer } from '../indexer/index.ts';
import { closeArtifactStore, describeStore, openArtifactStore } from '../artifacts/open-store.ts';
import { keepPinsInSync } from '../artifacts/catalog.ts';
import { openAccess } from '../access/open.ts';
import { createRouter, HttpError, pathDecodes, sendBadPageUrl, sendError, type Route } from './http.ts';
import type { BaseContext } from './context.ts';
import { routes as healthRoutes } from './routes/health.ts';
import { routes as accessRoutes } from './routes/access.ts';
import { routes as modelRoutes, invalidateModelsCache } from './routes/models.ts';
import { routes as uploadRoutes } from './routes/uploads.ts';
import { routes as sessionRoutes } from './routes/sessions.ts';
import { routes as manifestRoutes } from './routes/manifests.ts';
import { routes as blobRoutes } from './routes/blobs.ts';
import { routes as hfRoutes } from './routes/hf.ts';
import { repoRoot } from '../repo-root.ts';
import { routes as eventRoutes } from './routes/events.ts';
import { routes as feedRoutes } from './routes/feeds.ts';
import { routes as delegateRoutes } from './routes/delegates.ts';
import { EventHub } from '../events/hub.ts';
import { EventStreamService } from './event-stream.ts';
import { webhooksFromEnv, type WebhookDispatcher } from '../events/webhooks.ts';
import { Leadership } from '../indexer/lock.ts';
import { DEFAULT_REORG_WINDOW } from '../indexer/index.ts';

/**
 * A request with a body (upload, manifest, access request…) from which no byte arrives for `idleMs`
 * is destroyed: handlers reading it see the error, and a streaming upload drops its temp file and
 * releases its quota reservation. Cleared once the body is complete, so a long download or page
 * render is not cut by it.
 */
export function bindBodyIdle(req: http.IncomingMessage, idleMs: number): void {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return;
  let seen = req.socket.bytesRead;
  const onIdle = () => {
    // After a busy event loop, timers run before the socket's pending bytes are read, and a paused
    // socket is the server's own backpressure: look again once pending reads are done, and cut
    // only a client that really sent nothing.
    setImmediate(() => {
      if (req.complete || req.destroyed) return;
      const read = req.socket.bytesRead;
      if (read !== seen || req.socket.isPaused()) {
        seen = read;
        req.setTimeout(idleMs, onIdle);
        return;
      }
      req.destroy(new Error(`request body idle for ${idleMs / 1000} s (REQUEST_BODY_IDLE_SECONDS)`));
    });
  };
  req.setTimeout(idleMs, onIdle);
  req.once('end', () => req.setTimeout(0));
}
import { routes as ipfsRoutes } from './routes/ipfs.ts';
import { routes as relayRoutes } from './routes/relay.ts';
import { Relayer } from '../relay/relayer.ts';
import { backfillDags } from '../ipfs/dag.ts';
import { invalidateServingStatus } from './ipfs-access.ts';
import { startIpfsNode, type IpfsNode } from '../ipfs/node.ts';
import { RemotePinWorker, syncRemotePins } from '../ipfs/remote-pins.ts';
import { routes as pinRoutes } from './routes/pins.ts';
import { loadPinningServices } from '../env.ts';

export interface StartServerOptions {
  env: Env;
  /** Next in dev mode (compiles on demand) rather than serving the production build. */
  dev?: boolean;
  /** Serve pages through Next; false runs only the plain API (e.g. a blob gateway). */
  withNext?: boolean;
  deployment?: Deployment;
  /** A Next app already being prepared (see prepareNext), so its start overlaps the caller's work. */
  next?: Promise<NextHandle>;
  log?: (msg: string) => void;
}

export interface NextHandle {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  close(): Promise<void>;
}

/** Starts preparing the Next app (dev: compiler; production: the build output). */
export async function prepareNext(opts: { dev: boolean; env: Env }): Promise<NextHandle> {
  process.env.NEXT_TELEMETRY_DISABLED = '1';
  const { default: next } = await import('next');
  const app = next({ dev: opts.dev, dir: repoRoot, hostname: opts.env.HOST, port: opts.env.PORT });
  await app.prepare();
  const handler = app.getRequestHandler();
  return {
    handle: (req, res) => handler(req, res),
    close: async () => {
      await (app as unknown as { close?: () => Promise<void> }).close?.();
    },
  };
}

export interface RunningServer {
  url: string;
  port: number;
  indexer: Indexer;
  events: EventStreamService;
  hub: EventHub;
  db: Database['db'];
  /** The embedded IPFS node, when IPFS_LISTEN is set. */
  ipfs: IpfsNode | null;
  /** Resolves once the index has caught up with the chain head. */
  waitForIndex(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { env } = opts;
  // Next's pages (lib/web/server-env.ts) read this Env, not process.env: same chain, database and deployment.
  (globalThis as { __modeldaoEnv?: Env }).__modeldaoEnv = env;
  const log = opts.log ?? ((m: string) => console.log(`[server] ${m}`));
  const deployment = opts.deployment ?? loadDeployment(env.deploymentFile);
  // read and checked before anything starts: a bad file stops the start with its path and field
  const pinningServices = env.PINNING_SERVICES_FILE ? loadPinningServices(env.PINNING_SERVICES_FILE) : [];
  const publicClient = createChainClient(env.rpcUrl, deployment.chainId);
  const database = await openDatabase(env);
  const store = await openArtifactStore(env);
  const access = openAccess({ env, deployment, publicClient, db: database.db });
  if (database.kind === 'postgres' && !env.ACCESS_TOKEN_SECRET) {
    log(
      `ACCESS_TOKEN_SECRET is not set: access tokens are signed with ${env.dataDir}/access-token.secret, so only app servers sharing that file accept each other's tokens. Set the same ACCESS_TOKEN_SECRET on every app server (docs/deploy.md).`,
    );
  }

  const indexer = startIndexer({ env, db: database, publicClient, deployment, log: (m) => log(`indexer: ${m}`) });
  indexer.onAdvance(async () => invalidateModelsCache(database.db));
  indexer.onAdvance(() => invalidateServingStatus(database.db));
  // N app servers on one PostgreSQL: the writer's commits and other servers' manifest uploads reach
  // this server's caches through LISTEN/NOTIFY (in-process on PGlite). See db/notify.ts.
  const invalidation = await openInvalidationBus(database, log);
  invalidation.subscribe('index', () => indexer.poke());
  invalidation.subscribe('manifests', () => invalidateModelsCache(database.db));
  // A published version pins its manifest and files (never collected); see lib/artifacts/catalog.ts.
  await keepPinsInSync(database.db, deployment.chainId, indexer);
  // Typed events for /api/events (and webhooks): read from the event tables after each checkpoint move.
  const reorgWindow = env.INDEXER_REORG_WINDOW ?? DEFAULT_REORG_WINDOW;
  const hub = new EventHub({ db: database.db, chainId: deployment.chainId, registry: deployment.contracts.ModelRegistry, reorgWindow, log: (m) => log(m) });
  await hub.start();
  indexer.onAdvance(() => void hub.poke());
  const events = new EventStreamService(database.db, hub, {
    heartbeatMs: env.EVENTS_HEARTBEAT_MS,
    maxBufferedBytes: env.EVENTS_MAX_BUFFERED_BYTES,
    maxQueuedEvents: 10_000,
    reorgWindow,
    deployBlock: deployment.deployBlock,
  });
  // One process per database sends webhooks and follows relayed transactions: the holder of the
  // senders lock (an app server, or a standalone indexer); see Leadership in lib/indexer/lock.ts.
  let webhooks: WebhookDispatcher | null = null;
  let relayerRef: Relayer | null = null;
  const senders = new Leadership(database, deployment.chainId, {
    log,
    onChange: (leader) => {
      if (!leader) return;
      webhooks?.poke();
      void relayerRef?.tick();
    },
  });
  await senders.start();
  webhooks = webhooksFromEnv(env, { db: database.db, hub, chainId: deployment.chainId, isLeader: () => senders.isLeader(), log: (m) => log(m) });
  await webhooks?.start();
  // Blobs stored before the IPFS block index (or cut off by a crash) get it in the background: one
  // hashing pass each; until then /ipfs/ answers 404 for their blocks. See lib/ipfs/dag.ts.
  const stopBackfill = new AbortController();
  const backfill = backfillDags(database.db, store, log, stopBackfill.signal).catch((err) => log(`ipfs backfill failed: ${(err as Error).message}`));

  // Gasless votes and delegations from the operator's key (RELAY_*); pending ones from a previous run are reconciled first.
  const relayer = new Relayer({
    config: env.relay,
    db: database.db,
    publicClient,
    deployment,
    isLeader: () => senders.isLeader(),
    log: (m) => log(m),
  });
  relayerRef = relayer;
  await relayer.start();
  // The embedded IPFS node (opt-in): provides the public, approved blocks over bitswap; see lib/ipfs/node.ts.
  let ipfs: IpfsNode | null = null;
  if (env.IPFS_LISTEN.length > 0) {
    ipfs = await startIpfsNode(
      {
        listen: env.IPFS_LISTEN,
        announce: env.IPFS_ANNOUNCE,
        bootstrap: env.IPFS_BOOTSTRAP,
        dht: env.IPFS_DHT,
        keyFile: path.join(env.dataDir, 'ipfs', 'peer-key'),
      },
      { db: database.db, store, chainId: deployment.chainId },
      log,
    ).catch(async (err: Error) => {
      // a bad listen address or a busy port: fail the start cleanly, nothing left running
      hub.stop();
      events.close();
      await webhooks?.stop();
      await relayer.stop();
      await senders.stop();
      stopBackfill.abort();
      await backfill;
      await indexer.stop();
      await invalidation.close();
      await database.close();
      closeArtifactStore(store);
      throw new Error(`embedded IPFS node (IPFS_LISTEN=${env.IPFS_LISTEN.join(',')}) did not start: ${err.message}`);
    });
  }

  // Remote pinning of approved versions (PINNING_SERVICES_FILE); see lib/ipfs/remote-pins.ts.
  let pinWorker: RemotePinWorker | null = null;
  if (pinningServices.length > 0) {
    const names = pinningServices.map((s) => s.name);
    const worker = new RemotePinWorker({
      db: database.db,
      chainId: deployment.chainId,
      registry: deployment.contracts.ModelRegistry,
      services: pinningServices,
      origins: () => ipfs?.origins() ?? [],
      connect: (delegates) => ipfs?.connect(delegates),
      timeoutMs: env.PINNING_TIMEOUT_MS,
      retryBaseMs: env.PINNING_RETRY_BASE_MS,
      retryMaxMs: env.PINNING_RETRY_MAX_MS,
      maxFailures: env.PINNING_MAX_FAILURES,
      pollBaseMs: env.PINNING_POLL_BASE_MS,
      pollMaxMs: env.PINNING_POLL_MAX_MS,
      leaseMs: env.PINNING_LEASE_MS,
      log,
    });
    pinWorker = worker;
    const sync = async () => {
      await syncRemotePins(database.db, deployment.chainId, names);
      worker.poke();
    };
    await sync();
    indexer.onAdvance(sync);
    worker.start();
    log(`remote pinning on ${names.join(', ')}${ipfs ? '' : ' (no IPFS_LISTEN: pins carry no origins, the services must find the blocks elsewhere)'}`);
  }

  const ctx = {
    env,
    deployment,
    publicClient,
    db: database.db,
    database,
    databaseKind: database.kind,
    indexer: {
      status: () => {
        const s = indexer.status();
        return { indexedBlock: s.indexedBlock, headBlock: s.headBlock, lag: s.lag, error: s.fatalError ?? undefined };
      },
    },
    store,
    access,
    events,
    relayer,
    invalidation,
    ipfs,
    pinningServices: pinningServices.map((s) => s.name),
  } satisfies BaseContext & Record<string, unknown>;

  // Each route module declares the part of the context it needs; ctx has them all.
  const routes = [
    ...healthRoutes,
    ...blobRoutes,
    ...ipfsRoutes,
    ...pinRoutes,
    ...modelRoutes,
    ...uploadRoutes,
    ...sessionRoutes,
    ...manifestRoutes,
    ...accessRoutes,
    ...hfRoutes,
    ...eventRoutes,
    ...feedRoutes,
    ...delegateRoutes,
    ...relayRoutes,
  ] as Route<typeof ctx>[];
  const plain = createRouter(routes, () => ctx);

  const nextApp = opts.withNext === false ? undefined : await (opts.next ?? prepareNext({ dev: opts.dev ?? false, env }));

  const headersTimeoutMs = Math.round(env.REQUEST_HEADERS_TIMEOUT_SECONDS * 1000);
  const bodyIdleMs = Math.round(env.REQUEST_BODY_IDLE_SECONDS * 1000);
  // Node checks the headers deadline on this interval (default 30 s): keep it a fraction of the timeout.
  const server = http.createServer({ connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.round(headersTimeoutMs / 4))) }, async (req, res) => {
    bindBodyIdle(req, bodyIdleMs);
    try {
      if (await plain(req, res)) return;
      // /api/* and /hf/* belong to the plain handlers alone: a miss there is a JSON 404, not Next's HTML page.
      if (nextApp && !/^\/(api|hf)(\/|\?|$)/.test(req.url ?? '')) {
        // A page path that does not decode is the client's error in dev and production alike.
        if (!pathDecodes(req.url ?? '/')) return sendBadPageUrl(res, req.method === 'HEAD');
        return await nextApp.handle(req, res);
      }
      sendError(res, new HttpError(404, 'not_found', `no route for ${req.method} ${req.url}`));
    } catch (err) {
      sendError(res, err);
    }
  });
  server.keepAliveTimeout = 65_000;
  // No bound on a whole request (multi-GB uploads and downloads take what they take); instead a
  // bound on the headers and on every pause in a request body (bindBodyIdle).
  server.requestTimeout = 0;
  server.headersTimeout = headersTimeoutMs;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, env.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${env.HOST}:${port}`;
  log(`listening on ${url} (${database.kind}, store ${describeStore(store)})`);

  let closed = false;
  return {
    url,
    port,
    indexer,
    events,
    hub,
    db: database.db,
    ipfs,
    async waitForIndex(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      const head = Number(await publicClient.getBlockNumber({ cacheTime: 0 }));
      for (;;) {
        const s = indexer.status();
        if (s.fatalError) throw new Error(`indexer stopped: ${s.fatalError}`);
        if (s.indexedBlock !== null && s.indexedBlock >= head) return;
        if (Date.now() > deadline) throw new Error(`index did not reach block ${head} within ${timeoutMs} ms (at ${s.indexedBlock})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      hub.stop();
      events.close();
      await relayer.stop();
      await webhooks?.stop();
      await senders.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stopBackfill.abort();
      await backfill;
      await pinWorker?.stop();
      await ipfs?.stop().catch((err: Error) => log(`ipfs stop: ${err.message}`));
      await indexer.stop();
      await invalidation.close();
      await nextApp?.close().catch(() => {});
      await database.close();
      closeArtifactStore(store);
    },
  };
}
