// Pulling a gated model: the SDK signs an AccessRequest, the gateway (real POST /api/access route and
// access service, PGlite for nonces) issues a token, manifests and blobs are refused without it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, http as viemHttp, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createRouter } from '../../lib/server/http.ts';
import { routes as accessRoutes } from '../../lib/server/routes/access.ts';
import { createAccessService, tokenFromRequest } from '../../lib/access/service.ts';
import { openDatabase, type Database } from '../../db/client.ts';
import { pull, ModelDaoError } from '../../lib/sdk/index.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import {
  ACCESS,
  asTimelock,
  listFiles,
  makeVersion,
  modelIdOf,
  publish,
  sha256,
  startGateway,
  startTestChain,
  tmpDir,
  type Gateway,
  type TestChain,
} from '../helpers/consumer.ts';

let chain: TestChain;
let database: Database;
let gw: Gateway;
const dirs: string[] = [];
const member = privateKeyToAccount(DEV_ACCOUNTS[3].privateKey);
const outsider = privateKeyToAccount(DEV_ACCOUNTS[4].privateKey);

beforeAll(async () => {
  chain = await startTestChain();
  const client = createPublicClient({ transport: viemHttp(chain.rpcUrl) }) as PublicClient;
  const v = makeVersion('members-lm', { 'w.bin': 300_000 });
  await publish(chain, 'members-lm', v, { access: ACCESS.Allowlist });
  const id = await modelIdOf(chain, 'members-lm');
  await asTimelock(chain, 'setAllowlist', [id, [member.address], true]);
  database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
  const access = createAccessService({
    chainId: chain.deployment.chainId,
    registry: chain.deployment.contracts.ModelRegistry,
    publicClient: client,
    db: database.db,
    audiences: () => [gw.url],
    secret: Buffer.alloc(32, 7),
    tokenTtlSeconds: 600,
    recheckSeconds: 60,
  });
  const route = createRouter(accessRoutes, () => ({ access }));
  gw = await startGateway(
    [v],
    { kind: 'honest' },
    { route, guard: (req) => access.checkBlobAccess({ token: tokenFromRequest(req), modelIds: [id] }).then(() => {}) },
  );
}, 180_000);

afterAll(async () => {
  await gw?.close();
  await database?.close();
  await chain?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const base = () => ({ rpcUrl: chain.rpcUrl, deploymentFile: chain.deploymentFile, gateways: [gw.url] });
const dir = () => {
  const d = tmpDir();
  dirs.push(d);
  return d;
};

describe('pull of a gated model', () => {
  it('signs an access request with the key and downloads with the token', async () => {
    const r = await pull({ ...base(), slug: 'members-lm', cacheDir: dir(), account: member });
    expect(sha256(fs.readFileSync(r.files[0]!.localPath))).toBe(r.files[0]!.sha256);
    expect(gw.requests.some((q) => q.startsWith('POST /api/access'))).toBe(true);
  });

  it('without a key, fails with an access error that says to pass --key, and caches nothing', async () => {
    const cache = dir();
    const err = (await pull({ ...base(), slug: 'members-lm', cacheDir: cache }).catch((e) => e)) as ModelDaoError;
    expect(err).toBeInstanceOf(ModelDaoError);
    expect(err.kind).toBe('access');
    expect(err.message).toMatch(/--key/);
    expect(listFiles(cache)).toEqual([]);
  });

  it('for an account the allowlist does not hold, fails with access denied', async () => {
    const cache = dir();
    const err = (await pull({ ...base(), slug: 'members-lm', cacheDir: cache, account: outsider }).catch((e) => e)) as ModelDaoError;
    expect(err.kind).toBe('access');
    expect(err.message).toMatch(/access_denied|may not access/);
    expect(listFiles(cache)).toEqual([]);
    void path;
  });
});
