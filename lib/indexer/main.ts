// Standalone indexer (`npm run indexer`): the same indexer the server runs in-process, against PGlite
// (MODELDAO_DATA_DIR) or PostgreSQL (DATABASE_URL). Several may run against one PostgreSQL database:
// one writes, the others wait in standby. PGlite allows one process per data dir.
import { getEnv } from '../env.ts';
import { loadDeployment } from '../contracts/deployment.ts';
import { createChainClient } from '../chain/client.ts';
import { openDatabase } from '../../db/client.ts';
import { startIndexer } from './index.ts';
import { keepPinsInSync } from '../artifacts/catalog.ts';
import { EventHub } from '../events/hub.ts';
import { webhooksFromEnv } from '../events/webhooks.ts';
import { DEFAULT_REORG_WINDOW } from './index.ts';
import { Leadership } from './lock.ts';

const env = getEnv();
const deployment = loadDeployment(env.deploymentFile);
const publicClient = createChainClient(env.rpcUrl, deployment.chainId);
const database = await openDatabase(env);
const log = (msg: string) => console.log(`[indexer ${new Date().toISOString()}] ${msg}`);
const indexer = startIndexer({
  env,
  db: database,
  publicClient,
  deployment,
  log,
  // confirmations, poll interval, reorg window and getLogs range limits come from env (lib/env.ts)
});
log(
  `chain ${deployment.chainId} via ${env.rpcUrl}, ${database.kind}${database.kind === 'pglite' ? ` at ${env.pgliteDir}` : ''}, deploy block ${deployment.deployBlock}`,
);

// The writer pins what published versions reference (lib/artifacts/catalog.ts), whichever process it
// is: with a standalone indexer the app servers stand by and never see an advance. Also once at start,
// for a version indexed just before a crash.
await keepPinsInSync(database.db, deployment.chainId, indexer);

// Webhooks (WEBHOOKS_FILE): delivered by whichever process holds the senders lock — this indexer or
// an app server (lib/indexer/lock.ts). With the indexer as the only process given WEBHOOKS_FILE, it
// is the one that sends.
const senders = new Leadership(database, deployment.chainId, { log, onChange: (leader) => leader && webhooks?.poke() });
let hub: EventHub | null = null;
let webhooks: ReturnType<typeof webhooksFromEnv> = null;
if (env.WEBHOOKS_FILE) {
  const h = new EventHub({
    db: database.db,
    chainId: deployment.chainId,
    registry: deployment.contracts.ModelRegistry,
    reorgWindow: env.INDEXER_REORG_WINDOW ?? DEFAULT_REORG_WINDOW,
    log,
  });
  hub = h;
  await h.start();
  indexer.onAdvance(() => void h.poke());
  await senders.start();
  webhooks = webhooksFromEnv(env, { db: database.db, hub: h, chainId: deployment.chainId, isLeader: () => senders.isLeader(), log });
  await webhooks?.start();
  log(`webhooks: ${env.WEBHOOKS_FILE}`);
}

let lastLogged = -1;
const verbose = process.env.INDEXER_VERBOSE === '1';
indexer.onAdvance(({ toBlock }) => {
  const s = indexer.status();
  if (verbose || s.lag === 0 || toBlock - lastLogged >= 10_000) {
    if (toBlock !== lastLogged) log(`indexed block ${toBlock} (head ${s.headBlock}, lag ${s.lag})`);
    lastLogged = toBlock;
  }
});
// A restart that finds the index already at the head has nothing to advance, so no event fires:
// say where the index stands once the head is known (operators and supervisors wait for this line).
const startupReport = setInterval(() => {
  const s = indexer.status();
  if (s.indexedBlock === null || s.headBlock === null) return;
  clearInterval(startupReport);
  if (lastLogged === -1) {
    log(`indexed block ${s.indexedBlock} (head ${s.headBlock}, lag ${s.lag})`);
    lastLogged = s.indexedBlock;
  }
}, 100);
startupReport.unref();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  hub?.stop();
  await webhooks?.stop();
  await senders.stop();
  await indexer.stop();
  await database.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await indexer.done;
if (!stopping) {
  const s = indexer.status();
  hub?.stop();
  await webhooks?.stop();
  await senders.stop();
  await database.close();
  if (s.fatalError) {
    console.error(`indexer stopped: ${s.fatalError}`);
    process.exit(2);
  }
}
