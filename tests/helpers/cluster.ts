// The multi-server topology on loopback, for `npm run cluster` (scripts/cluster.ts) and the cluster
// story test: a throwaway PostgreSQL, a throwaway OpenStack Swift (S3 API) as the object store, a
// local chain with the contracts deployed, ONE standalone indexer (the writer), and two app servers
// (lib/server/start.ts) on different ports that share the database and the bucket and nothing else
// (each has its own data dir). Without Swift installed, `store: 'local'` shares one store directory
// instead. See docs/deploy.md for the same topology in production.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../db/client.ts';
import { deployContracts, freePort, repoRoot, startAnvil, type Anvil } from '../../lib/devchain/anvil.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
import { entryArgs } from './entry-bundles.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { startServerProcess, type ServerProcess, type UploadChain } from './server-process.ts';
import { startSwift, swiftAvailable, type TestSwift } from './swift.ts';

export interface Cluster {
  postgres: TestPostgres;
  /** the object store (null with `store: 'local'`) */
  swift: TestSwift | null;
  store: 'local' | 's3';
  anvil: Anvil;
  deployment: Deployment;
  deploymentFile: string;
  /** root of the servers' data dirs (<dataDir>/a, <dataDir>/b; with a local store, one shared <dataDir>) */
  dataDir: string;
  indexer: { pid: number; output(): string; stop(): Promise<void> };
  servers: [ServerProcess, ServerProcess];
  /** environment every process of the cluster shares (database, chain, store, token secret) */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  dataDir: string;
  /** default: 's3' (Swift) when Swift is installed, else 'local' (one store directory shared by both servers) */
  store?: 'local' | 's3';
  /** app server ports (default: free ports) */
  ports?: [number, number];
  anvilPort?: number;
  /** extra environment for the app servers (e.g. upload limits) */
  serverEnv?: Record<string, string>;
  /** extra environment for every process: the indexer and both app servers (e.g. WEBHOOKS_FILE) */
  sharedEnv?: Record<string, string>;
  /** serve the web pages from the production build (needs `npm run build`); default API only */
  pages?: boolean;
  log?: (msg: string) => void;
}

function startIndexerProcess(env: Record<string, string>): Promise<Cluster['indexer']> {
  const child: ChildProcess = spawn(process.execPath, entryArgs('lib/indexer/main.ts'), {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d).slice(-50_000);
      // main.ts prints this once the index has reached the head (README: supervisors wait for it)
      if (/indexed block \d+/.test(out)) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more) => (out = (out + more).slice(-50_000)));
        resolve({
          pid: child.pid!,
          output: () => out,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
              await exited;
              clearTimeout(t);
            }
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (out = (out + d).slice(-50_000)));
    child.once('exit', (code) => reject(new Error(`indexer exited (${code}) before reaching the head:\n${out}`)));
  });
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const log = o.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    const store = o.store ?? (swiftAvailable() ? 's3' : 'local');
    log(`starting PostgreSQL, ${store === 's3' ? 'Swift (S3 API), ' : ''}and the local chain…`);
    const [postgres, anvil, swift] = await Promise.all([
      startPostgres({ durable: true }),
      startAnvil({ port: o.anvilPort ?? (await freePort()), chainId: 31337 }),
      store === 's3' ? startSwift({ bucket: 'modeldao' }) : null,
    ]);
    stops.push(
      () => postgres.stop(),
      () => anvil.stop(),
    );
    if (swift) stops.push(() => swift.stop());
    const deploymentFile = path.join(o.dataDir, 'deployment.json');
    fs.mkdirSync(o.dataDir, { recursive: true });
    const { deployment } = await deployContracts(anvil.rpcUrl, { deploymentFile });
    // the schema is migrated once, before any process of the cluster starts (they would take turns anyway)
    await (await openDatabase({ pgliteDir: '', DATABASE_URL: postgres.url })).close();

    const ports = o.ports ?? [await freePort(), await freePort()];
    const env: Record<string, string> = {
      DATABASE_URL: postgres.url,
      RPC_URL: anvil.rpcUrl,
      DEPLOYMENT_FILE: deploymentFile,
      CHAIN_ID: String(deployment.chainId),
      MODELDAO_DATA_DIR: o.dataDir,
      // one signing key for access tokens on every app server (a token from A is good on B)
      ACCESS_TOKEN_SECRET: crypto.randomBytes(32).toString('hex'),
      // a request signed for either server's origin is accepted by both (behind a load balancer:
      // PUBLIC_BASE_URL, the same on every server)
      ACCESS_AUDIENCES: ports.map((p) => `http://127.0.0.1:${p}`).join(','),
      INDEXER_CONFIRMATIONS: '0',
      ...o.sharedEnv,
      ...(swift
        ? {
            STORE: 's3',
            S3_BUCKET: swift.bucket!,
            S3_ENDPOINT: swift.endpoint,
            S3_REGION: swift.region,
            S3_ACCESS_KEY_ID: swift.accessKeyId,
            S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
            S3_FORCE_PATH_STYLE: 'true',
          }
        : {}),
    };
    log('starting the indexer (the one writer)…');
    const indexer = await startIndexerProcess({ ...env, INDEXER_POLL_MS: '200' });
    stops.push(() => indexer.stop());

    log(`starting app servers on ports ${ports.join(' and ')}…`);
    const chain: UploadChain = { anvil, deployment, deploymentFile, auth: () => Promise.reject(new Error('not used')), stop: async () => {} };
    const serverEnv = { ...env, ...(o.pages ? { SERVE_PAGES: '1' } : {}), ...o.serverEnv };
    // with S3 the servers share nothing on disk: each its own data dir
    const dirs = swift ? ['a', 'b'].map((n) => path.join(o.dataDir, n)) : [o.dataDir, o.dataDir];
    const servers = (await Promise.all(
      ports.map((port, i) => startServerProcess({ chain, dataDir: dirs[i]!, port, env: { ...serverEnv, MODELDAO_DATA_DIR: dirs[i]! } })),
    )) as [ServerProcess, ServerProcess];
    for (const s of servers) stops.push(() => s.stop());
    return { postgres, swift, store, anvil, deployment, deploymentFile, dataDir: o.dataDir, indexer, servers, env, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
