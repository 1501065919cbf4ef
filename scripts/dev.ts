// npm run dev — the main job: a local chain with the contracts deployed, a demo DAO seeded through
// real governance, the indexer and the web app, all on embedded defaults. Ctrl-C stops everything.
//
// Each run starts a fresh chain (anvil keeps no state between runs), so the index in the data dir
// is reset too; the artifact store is content-addressed and kept (re-seeding finds its blobs).
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv, EnvError } from '../lib/env.ts';
import { startAnvil, deployContracts, portIsFree, freePort, repoRoot } from '../lib/devchain/anvil.ts';
import { prepareNext, startServer } from '../lib/server/main.ts';
import { seedDemoDao, seededBanner } from '../lib/devchain/seed.ts';

process.env.NEXT_TELEMETRY_DISABLED = '1';
process.chdir(repoRoot);

async function main() {
  let env;
  try {
    env = parseEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  if (process.env.RPC_URL) {
    console.error('npm run dev starts its own local chain; unset RPC_URL (to run against a real chain use `npm start`, see README).');
    process.exit(2);
  }
  if (!(await portIsFree(env.PORT))) {
    console.error(`Port ${env.PORT} is busy. Stop whatever is listening there or run with PORT=<free port> npm run dev.`);
    process.exit(2);
  }
  let anvilPort = env.ANVIL_PORT;
  if (!(await portIsFree(anvilPort))) {
    const fallback = await freePort();
    console.warn(
      `Port ${anvilPort} is busy (another anvil or node?); starting the local chain on ${fallback} instead. Point your wallet at http://127.0.0.1:${fallback}.`,
    );
    anvilPort = fallback;
  }

  const t0 = Date.now();
  // Next's dev compiler starts while the chain comes up and the contracts deploy.
  const dev = process.env.NODE_ENV !== 'production';
  const next = prepareNext({ dev, env });
  next.catch(() => {});
  const anvil = await startAnvil({ port: anvilPort, chainId: 31337 });
  const stops: (() => Promise<void>)[] = [() => anvil.stop()];
  let stopping = false;
  const shutdown = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    for (const stop of stops.reverse()) await stop().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const deploymentFile = env.deploymentFile;
    console.log(`Local chain on ${anvil.rpcUrl}; deploying contracts…`);
    const { deployment } = await deployContracts(anvil.rpcUrl, { deploymentFile });

    // Fresh chain → fresh index. The artifact store is content-addressed and survives.
    fs.rmSync(path.join(env.dataDir, 'pglite'), { recursive: true, force: true });

    const runEnv = parseEnv({ ...process.env, ANVIL_PORT: String(anvilPort), DEPLOYMENT_FILE: deploymentFile });
    const server = await startServer({ env: runEnv, dev, withNext: true, next });
    stops.push(() => server.close());

    console.log('Seeding the demo DAO through governance (propose → vote → queue → execute)…');
    const seed = await seedDemoDao({ rpcUrl: anvil.rpcUrl, deployment, baseUrl: server.url, log: (m) => console.log(`  ${m}`) });
    await server.waitForIndex();

    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`
modeldao is running (ready in ${secs}s)

  Web app     ${server.url}
  Health      ${server.url}/api/health
  HF Hub API  HF_ENDPOINT=${server.url}/hf hf download tiny-lm
  Chain       ${anvil.rpcUrl}  (chain id ${deployment.chainId})
  Data dir    ${runEnv.dataDir}
  IPFS node   ${server.ipfs ? server.ipfs.origins().join(' ') : 'off (set IPFS_LISTEN=/ip4/127.0.0.1/tcp/4001 to provide approved weights over bitswap)'}

  Contracts
    ModelToken          ${deployment.contracts.ModelToken}
    ModelGovernor       ${deployment.contracts.ModelGovernor}
    TimelockController  ${deployment.contracts.TimelockController}
    ModelRegistry       ${deployment.contracts.ModelRegistry}

${seededBanner(seed)}`);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await shutdown(1);
  }
}

void main();
