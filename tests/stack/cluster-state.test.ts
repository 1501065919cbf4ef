// Two app servers (separate processes, the real lib/server/start.ts) on one real PostgreSQL, with a
// standalone indexer as the writer and a shared store directory: the state that decides answers lives
// in the database, and cache invalidation crosses servers (LISTEN/NOTIFY). A client may talk to
// either server and gets the same answers.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { openDatabase, type Database } from '../../db/client.ts';
import { accessTypedData, randomNonce } from '../../lib/access/request.ts';
import { DEV_ACCOUNTS, repoRoot } from '../../lib/devchain/anvil.ts';
import { entryArgs } from '../helpers/entry-bundles.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startServerProcess, startUploadChain, tempDir, type ServerProcess, type UploadChain } from '../helpers/server-process.ts';
import { ACCESS, asGuardian, asTimelock, makeVersion, modelIdOf, publish, type ModelVersionFiles, type TestChain } from '../helpers/consumer.ts';

const MiB = 1024 * 1024;
const PUBLIC_BASE_URL = 'http://models.cluster.test';

let chain: UploadChain;
let testChain: TestChain;
let pgServer: TestPostgres;
let database: Database;
let indexer: ChildProcess;
let indexerOut = '';
let a: ServerProcess;
let b: ServerProcess;
const dataDir = tempDir('modeldao-cluster-state-');

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function checkpointBlock(): Promise<number> {
  const r = await database.db.execute(sql`SELECT block_number FROM indexer_checkpoint WHERE chain_id = ${chain.deployment.chainId}`);
  return Number(r.rows[0]?.block_number ?? -1);
}

async function headBlock(): Promise<number> {
  const res = await fetch(chain.anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
  });
  return Number(((await res.json()) as { result: string }).result);
}

/** Both servers' view of the index has reached the chain head. */
async function bothCaughtUp() {
  const head = await headBlock();
  await waitFor(`both servers at block ${head}`, async () => {
    for (const s of [a, b]) {
      const h = (await (await fetch(`${s.url}/api/health`)).json()) as { indexedBlock: number | null };
      if ((h.indexedBlock ?? -1) < head) return false;
    }
    return true;
  });
}

async function upload(server: ServerProcess, bytes: Buffer, fileName = 'w.bin') {
  const res = await fetch(`${server.url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: await chain.auth(PUBLIC_BASE_URL), 'x-file-name': fileName },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** An upload whose body is held open after its first bytes: it holds a slot and its declared length. */
async function heldUpload(server: ServerProcess, declared: number): Promise<{ finish(): Promise<number>; abort(): void }> {
  const u = new URL(`${server.url}/api/uploads`);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'POST',
    headers: { authorization: await chain.auth(PUBLIC_BASE_URL), 'content-length': String(declared) },
  });
  const response = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
  const body = crypto.randomBytes(declared);
  req.write(body.subarray(0, 64 * 1024));
  return {
    async finish() {
      req.end(body.subarray(64 * 1024));
      return response;
    },
    abort: () => req.destroy(),
  };
}

async function claims(kind: 'quota' | 'slot'): Promise<number> {
  const r = await database.db.execute(sql`SELECT count(*)::int AS n FROM upload_claim WHERE kind = ${kind}`);
  return Number(r.rows[0]!.n);
}

async function uploadVersion(server: ServerProcess, v: ModelVersionFiles) {
  for (const [, bytes] of v.files) expect((await upload(server, bytes)).status).toBeLessThan(300);
  const res = await fetch(`${server.url}/api/manifests`, {
    method: 'POST',
    headers: { authorization: await chain.auth(PUBLIC_BASE_URL), 'content-type': 'application/json' },
    body: new Uint8Array(v.manifestBytes),
  });
  expect(res.status).toBeLessThan(300);
}

beforeAll(async () => {
  [chain, pgServer] = await Promise.all([startUploadChain(), startPostgres()]);
  testChain = { ...chain.anvil, deployment: chain.deployment, deploymentFile: chain.deploymentFile };
  database = await openDatabase({ pgliteDir: '', DATABASE_URL: pgServer.url }); // migrates before anyone else starts
  const common = {
    DATABASE_URL: pgServer.url,
    RPC_URL: chain.anvil.rpcUrl,
    DEPLOYMENT_FILE: chain.deploymentFile,
    CHAIN_ID: String(chain.deployment.chainId),
    MODELDAO_DATA_DIR: dataDir,
    INDEXER_CONFIRMATIONS: '0',
    INDEXER_POLL_MS: '100',
  };
  // the one indexer writer, before the app servers: they stand by and follow it
  indexer = spawn(process.execPath, entryArgs('lib/indexer/main.ts'), {
    cwd: repoRoot,
    env: { ...process.env, ...common },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  indexer.stdout!.on('data', (d) => (indexerOut = (indexerOut + d).slice(-20_000)));
  indexer.stderr!.on('data', (d) => (indexerOut = (indexerOut + d).slice(-20_000)));
  await waitFor('the indexer to reach the head', () => indexerOut.includes('indexed block'), 120_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${indexerOut}`);
  });
  const env = {
    ...common,
    PUBLIC_BASE_URL,
    ACCESS_TOKEN_SECRET: crypto.randomBytes(32).toString('hex'),
    UPLOAD_QUOTA_BYTES: String(3 * MiB),
    UPLOAD_MAX_CONCURRENT_PER_ACCOUNT: '2',
  };
  [a, b] = await Promise.all([startServerProcess({ chain, dataDir, env }), startServerProcess({ chain, dataDir, env })]);
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  if (indexer && indexer.exitCode === null) {
    const exited = new Promise((r) => indexer.once('exit', r));
    indexer.kill('SIGTERM');
    await exited;
  }
  await database?.close();
  await pgServer?.stop();
  await chain?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('two app servers on one PostgreSQL', () => {
  it('share one upload quota and one concurrent-upload cap per account, in flight included', { timeout: 120_000 }, async () => {
    // A body streaming into A reserves its declared 2 MiB: B has only 1 MiB of the 3 MiB quota left.
    const first = await heldUpload(a, 2 * MiB);
    await waitFor('A to reserve the streaming upload', async () => (await claims('quota')) === 1);
    const refused = await upload(b, crypto.randomBytes(2 * MiB));
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe('quota_exceeded');
    // a second upload on B fits the quota and takes the account's second slot: A has none left
    const second = await heldUpload(b, 512 * 1024);
    await waitFor('B to hold the second slot', async () => (await claims('slot')) === 2);
    const busy = await upload(a, crypto.randomBytes(1024));
    expect(busy.status).toBe(429);
    expect(busy.body.error.code).toBe('too_many_uploads');

    // B's upload is cut off: its slot and reservation go, on every server
    second.abort();
    await waitFor('the cut-off upload to release its claims', async () => (await claims('slot')) === 1 && (await claims('quota')) === 1);
    expect(await first.finish()).toBe(201);
    expect(await claims('quota')).toBe(0); // released before the answer went out
    // A's finished upload now counts as a stored blob, on B as well
    const over = await upload(b, crypto.randomBytes(MiB + 1));
    expect(over.status).toBe(413);
    expect((await upload(b, crypto.randomBytes(256 * 1024))).status).toBe(201); // (leaves 768 KiB for the tests below)
  });

  it('an access-request nonce used on A is refused on B, and the token A issued works on B', { timeout: 180_000 }, async () => {
    const gated = makeVersion('cluster-gated', { 'w.bin': 4096 });
    await publish(testChain, 'cluster-gated', gated, { access: ACCESS.Allowlist });
    const modelId = await modelIdOf(testChain, 'cluster-gated');
    const reader = privateKeyToAccount(DEV_ACCOUNTS[3].privateKey);
    await asTimelock(testChain, 'setAllowlist', [modelId, [reader.address], true]);
    await bothCaughtUp();

    const request = { account: reader.address, modelId, audience: PUBLIC_BASE_URL, nonce: randomNonce(), expiry: BigInt(Math.floor(Date.now() / 1000) + 300) };
    const signature = await reader.signTypedData(accessTypedData(chain.deployment.chainId, chain.deployment.contracts.ModelRegistry, request));
    const body = JSON.stringify({
      request: { ...request, modelId: modelId.toString(), expiry: request.expiry.toString() },
      signature,
    });
    const post = (s: ServerProcess) => fetch(`${s.url}/api/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const onA = await post(a);
    expect(onA.status).toBe(200);
    const { token } = (await onA.json()) as { token: string };
    const onB = await post(b);
    expect(onB.status).toBe(409);
    expect(((await onB.json()) as any).error.code).toBe('nonce_reused');

    const current = await fetch(`${b.url}/api/models/cluster-gated/current`, { headers: { authorization: `Bearer ${token}` } });
    expect(current.status).toBe(200);
    const answer = (await current.json()) as { accessRequired?: boolean; manifestDigest: string };
    expect(answer.accessRequired).toBeUndefined();
    expect(answer.manifestDigest).toBe(gated.digest);
  });

  it('a manifest uploaded through A shows in B’s consumer API at once, without a new block', { timeout: 120_000 }, async () => {
    const v = makeVersion('cluster-late-manifest', { 'w.bin': 2048 });
    await publish(testChain, 'cluster-late-manifest', v); // on chain first, manifest uploaded later
    await bothCaughtUp();
    const get = async () => (await (await fetch(`${b.url}/api/models/cluster-late-manifest/current`)).json()) as { manifestAvailable: boolean };
    expect((await get()).manifestAvailable).toBe(false); // B has built and cached this answer
    const headBefore = await headBlock();
    await uploadVersion(a, v);
    await waitFor('B to embed the manifest', async () => (await get()).manifestAvailable, 5000);
    expect(await headBlock()).toBe(headBefore); // nothing on chain moved B's cache: the notification did
  });

  it('a revocation indexed by the writer reaches B’s consumer API within a second of the commit', { timeout: 120_000 }, async () => {
    const v = makeVersion('cluster-revoked', { 'w.bin': 1024 });
    await uploadVersion(a, v);
    await publish(testChain, 'cluster-revoked', v);
    await bothCaughtUp();
    // an active version's summary; a revoked one is a 410 error
    const status = async () => {
      const answer = (await (await fetch(`${b.url}/api/models/cluster-revoked/versions/1`)).json()) as { status?: string; error?: { code: string } };
      return answer.status ?? answer.error?.code;
    };
    expect(await status()).toBe('active'); // cached on B
    const blob = [...v.files.keys()][0]!;
    expect((await fetch(`${b.url}/api/blobs/${blob}`)).status).toBe(200);

    await asGuardian(testChain, 'revokeVersion', [await modelIdOf(testChain, 'cluster-revoked'), 1]);
    const revokedAt = await headBlock();
    await waitFor('the writer to index the revocation', async () => (await checkpointBlock()) >= revokedAt, 30_000);
    const committed = Date.now();
    // B's standby indexer polls the checkpoint every 2 s; the writer's NOTIFY makes it follow at once
    await waitFor('B to report the version revoked', async () => (await status()) === 'version_revoked', 10_000).catch(async (err) => {
      const answer = await (await fetch(`${b.url}/api/models/cluster-revoked/versions/1`)).text();
      const health = await (await fetch(`${b.url}/api/health`)).text();
      throw new Error(
        `${(err as Error).message}: ${answer}\nB health ${health}\ncheckpoint ${await checkpointBlock()}\n${b.output().slice(-3000)}\nindexer: ${indexerOut.slice(-2000)}`,
      );
    });
    expect(Date.now() - committed).toBeLessThan(1000);
    expect((await fetch(`${b.url}/api/blobs/${blob}`)).status).toBe(410);
  });
});
