// npm run cluster — the multi-server topology on one machine (loopback): a throwaway PostgreSQL, a
// local chain with the contracts deployed, ONE indexer writer (lib/indexer/main.ts) and two app
// servers (lib/server/start.ts) on different ports sharing the database and the artifact store; the
// demo DAO is seeded through real governance as `npm run dev` does, uploading through server A.
// Ctrl-C stops everything. docs/deploy.md describes the same topology in production.
//
// Env: CLUSTER_PORTS=3101,3102 (app servers; default free ports), ANVIL_PORT (default free),
// MODELDAO_DATA_DIR (default .modeldao-cluster: the servers' data dirs a/ and b/). The object store
// is a throwaway Swift (S3 API); the database and the bucket are thrown away with the chain. Pages are served when a production build exists
// (`npm run build`); otherwise the servers run the API only and say so.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { portIsFree, repoRoot } from '../lib/devchain/anvil.ts';
import { seedDemoDao, seededBanner } from '../lib/devchain/seed.ts';
import { startCluster, type Cluster } from '../tests/helpers/cluster.ts';
import { swiftAvailable } from '../tests/helpers/swift.ts';

process.chdir(repoRoot);

/** PostgreSQL and Swift (+ memcached) from Debian, installed when missing and running as root. */
function ensurePrerequisites() {
  const missing: string[] = [];
  const hasPostgres =
    fs.existsSync('/usr/lib/postgresql') && fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  if (!hasPostgres) missing.push('postgresql');
  if (!swiftAvailable()) missing.push('swift-proxy', 'swift-object', 'swift-container', 'swift-account', 'memcached');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`npm run cluster needs system packages: sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`);
    process.exit(2);
  }
  console.log(`installing ${missing.join(' ')} (apt-get)…`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function parsePorts(): [number, number] | undefined {
  const v = process.env.CLUSTER_PORTS;
  if (!v) return undefined;
  const ports = v.split(',').map((p) => Number(p.trim()));
  if (ports.length !== 2 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535) || ports[0] === ports[1]) {
    console.error(`CLUSTER_PORTS must be two different ports, e.g. CLUSTER_PORTS=3101,3102 (got ${v})`);
    process.exit(2);
  }
  return ports as [number, number];
}

async function main() {
  const ports = parsePorts();
  for (const p of [...(ports ?? []), ...(process.env.ANVIL_PORT ? [Number(process.env.ANVIL_PORT)] : [])]) {
    if (!(await portIsFree(p))) {
      console.error(`Port ${p} is busy. Choose others with CLUSTER_PORTS=a,b and ANVIL_PORT=c.`);
      process.exit(2);
    }
  }
  ensurePrerequisites();
  const dataDir = path.resolve(process.env.MODELDAO_DATA_DIR ?? '.modeldao-cluster');
  const pages = fs.existsSync(path.join(repoRoot, '.next', 'BUILD_ID'));
  const t0 = Date.now();

  let cluster: Cluster | null = null;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the app servers, the indexer, the chain and PostgreSQL…');
    await cluster?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    cluster = await startCluster({
      dataDir,
      ports,
      anvilPort: process.env.ANVIL_PORT ? Number(process.env.ANVIL_PORT) : undefined,
      pages,
      log: (m) => console.log(m),
    });
    if (stopping) return;
    const [a, b] = cluster.servers;
    console.log('Seeding the demo DAO through governance, uploading through server A…');
    const seed = await seedDemoDao({ rpcUrl: cluster.anvil.rpcUrl, deployment: cluster.deployment, baseUrl: a.url, log: (m) => console.log(`  ${m}`) });
    // both servers answer from the index the writer keeps: wait until both report the head
    const head = Number(
      (
        (await (
          await fetch(cluster.anvil.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
          })
        ).json()) as { result: string }
      ).result,
    );
    for (const s of cluster.servers) {
      for (;;) {
        const h = (await (await fetch(`${s.url}/api/health`)).json()) as { indexedBlock: number | null };
        if ((h.indexedBlock ?? -1) >= head) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`
modeldao cluster is running (ready in ${secs}s)

  App server A  ${a.url}   (pid ${a.pid})${pages ? '' : '   API only: run `npm run build` first to serve the web pages'}
  App server B  ${b.url}   (pid ${b.pid})
  Health        ${a.url}/api/health   ${b.url}/api/health
  Pull via both npx modeldao pull tiny-lm --rpc ${cluster.anvil.rpcUrl} --deployment ${cluster.deploymentFile} \\
                  --gateway ${a.url} --gateway ${b.url}
  Indexer       pid ${cluster.indexer.pid} (the one writer; the app servers stand by and follow it)
  PostgreSQL    ${cluster.postgres.url}
  Store         ${cluster.swift ? `Swift S3 API ${cluster.swift.endpoint}, bucket ${cluster.swift.bucket} (key ${cluster.swift.accessKeyId} / ${cluster.swift.secretAccessKey})` : `${path.join(dataDir, 'store')} (one directory shared by both servers)`}
  Chain         ${cluster.anvil.rpcUrl}  (chain id ${cluster.deployment.chainId})

${seededBanner(seed)}`);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await shutdown(1);
  }
}

void main();
