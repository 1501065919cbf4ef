import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, http, type PublicClient } from 'viem';
import { openDatabase } from '../../db/client.ts';
import { dumpIndex, indexOnce, startIndexer, type IndexDump } from '../../lib/indexer/index.ts';
import { repoRoot } from '../../lib/devchain/anvil.ts';
import { startTestChain, type TestChain } from '../helpers/anvil.ts';
import { entryArgs } from '../helpers/entry-bundles.ts';
import { delegations, gov, governance } from './scenario.ts';
import { startFaultyRpc } from './faulty-rpc.ts';

let chain: TestChain;
let pub: PublicClient;
let reference: IndexDump;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-faults-'));

beforeAll(async () => {
  chain = await startTestChain();
  pub = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  const g = gov(chain.rpcUrl, chain.deployment);
  await delegations(g);
  for (const tag of ['k1', 'k2', 'k3']) await governance(g, tag);
  // the uninterrupted run everything else must match
  const db = await openDatabase({ pgliteDir: '' }, { inMemory: true });
  await indexOnce({ db, publicClient: pub, deployment: chain.deployment, confirmations: 0 });
  reference = await dumpIndex(db.db, chain.deployment.chainId);
  await db.close();
  expect(reference.vote.length).toBeGreaterThan(10);
});

afterAll(async () => {
  await chain?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('indexer faults', () => {
  it('keeps going through RPC errors, hangs, cut-off responses and range refusals, and misses nothing', async () => {
    const proxy = await startFaultyRpc(chain.rpcUrl, { errorRate: 0.1, hangRate: 0.05, truncateRate: 0.1, maxLogsRange: 6 });
    // viem's own retries are turned off so every fault reaches the indexer's retry logic; the retry
    // waits are scaled down (backoffMs 5, production 100): the logic is the same, the test is not idle
    const flaky = createPublicClient({ transport: http(proxy.url, { retryCount: 0, timeout: 300 }) }) as PublicClient;
    const db = await openDatabase({ pgliteDir: '' }, { inMemory: true });
    const indexer = startIndexer({ db, publicClient: flaky, deployment: chain.deployment, confirmations: 0, pollMs: 50, initialRange: 50, backoffMs: 5 });
    try {
      const head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
      const end = Date.now() + 150_000;
      while (indexer.status().indexedBlock !== head && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(indexer.status()).toMatchObject({ indexedBlock: head, fatalError: null });
      expect(indexer.status().lastError).not.toBeNull();
      expect(proxy.counts.error500).toBeGreaterThan(0);
      expect(proxy.counts.hang).toBeGreaterThan(0);
      expect(proxy.counts.truncated).toBeGreaterThan(0);
      expect(proxy.counts.tooMany).toBeGreaterThan(0);
      expect(await dumpIndex(db.db, chain.deployment.chainId)).toEqual(reference);
    } finally {
      await indexer.stop();
      await db.close();
      await proxy.close();
    }
  });

  // 4 kill points in npm test (the CI budget), 20 in npm run test:deep (MODELDAO_DEEP=1)
  const KILLS = process.env.MODELDAO_DEEP === '1' ? 20 : 4;
  it(
    `after kill -9 at ${KILLS} random points of a standalone backfill, the restarted indexer ends with the same index and no duplicates`,
    { timeout: 900_000 },
    async () => {
      const dataDir = path.join(tmp, 'killed');
      const env = {
        ...process.env,
        MODELDAO_DATA_DIR: dataDir,
        RPC_URL: chain.rpcUrl,
        CHAIN_ID: String(chain.deployment.chainId),
        DEPLOYMENT_FILE: chain.deploymentFile,
        INDEXER_CONFIRMATIONS: '0',
        INDEXER_POLL_MS: '100',
        // small ranges: many commits, so kills land between and inside them
        INDEXER_INITIAL_RANGE: '1',
        INDEXER_MAX_RANGE: '1',
        INDEXER_VERBOSE: '1',
      };
      const head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
      const spawnIndexer = () => {
        // node itself (this run's bundle), not the tsx CLI: the CLI runs the script in a child process that a SIGKILL of the CLI would orphan
        const child = spawn(process.execPath, entryArgs('lib/indexer/main.ts'), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        return { child, output: () => out };
      };
      const exited = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null || child.signalCode ? r() : child.once('exit', () => r())));
      const waitForOutput = async (p: ReturnType<typeof spawnIndexer>, pattern: RegExp, ms = 120_000) => {
        const end = Date.now() + ms;
        while (!pattern.test(p.output())) {
          if (p.child.exitCode !== null) throw new Error(`indexer exited: ${p.output()}`);
          if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}: ${p.output()}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };

      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const indexedSoFar = (p: ReturnType<typeof spawnIndexer>) => Math.max(-1, ...[...p.output().matchAll(/indexed block (\d+)/g)].map((m) => Number(m[1])));
      const from = chain.deployment.deployBlock;
      const killedAt: number[] = [];
      for (let i = 0; i < KILLS; i++) {
        const p = spawnIndexer();
        if (i % 2 === 0) {
          // anywhere in start-up: loading, opening PGlite, migrations, the first ranges
          await new Promise((r) => setTimeout(r, random() * 2500));
        } else {
          // in the middle of the backfill: once it is past the (i+1)/(KILLS+2) mark of the chain (wherever the
          // previous run stopped), just after a range was committed or while the next one is written.
          // Kill points are tied to progress, not to wall time, so a fast or slow machine kills alike.
          const target = from + Math.ceil(((head - from) * (i + 1)) / (KILLS + 2));
          const end = Date.now() + 120_000;
          while (indexedSoFar(p) < target) {
            if (p.child.exitCode !== null) throw new Error(`indexer exited: ${p.output()}`);
            if (Date.now() > end) throw new Error(`timed out waiting for block ${target}: ${p.output()}`);
            await new Promise((r) => setTimeout(r, 2));
          }
          await new Promise((r) => setTimeout(r, random() * 20));
        }
        p.child.kill('SIGKILL');
        await exited(p.child);
        killedAt.push(indexedSoFar(p));
        if (process.env.DEBUG_INDEXER) console.log(`kill ${i} at ${killedAt.at(-1)}: ${p.output().split('\n').filter(Boolean).at(-1)}`);
      }
      const last = spawnIndexer();
      try {
        await waitForOutput(last, new RegExp(`indexed block ${head} \\(head ${head}, lag 0\\)`), 180_000);
      } finally {
        last.child.kill('SIGTERM');
        await exited(last.child);
      }
      expect(killedAt).toHaveLength(KILLS);
      // the kills really interrupted a backfill in progress
      expect(killedAt.filter((b) => b > 0 && b < head).length).toBeGreaterThanOrEqual(Math.floor(KILLS / 4));
      const db = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite') });
      try {
        const dump = await dumpIndex(db.db, chain.deployment.chainId);
        expect(dump).toEqual(reference);
        for (const table of ['governor_event', 'token_event', 'registry_event', 'timelock_event', 'vote']) {
          const keys = dump[table]!.map((r: any) => `${r.tx_hash}:${r.log_index}`);
          expect(new Set(keys).size).toBe(keys.length);
        }
      } finally {
        await db.close();
      }
    },
  );
});
