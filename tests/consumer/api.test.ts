// The consumer HTTP API and access rules against a real chain, a real index (PGlite + the indexer)
// and the real route modules mounted in a node:http server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, http as viemHttp, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createRouter } from '../../lib/server/http.ts';
import { routes as modelRoutes } from '../../lib/server/routes/models.ts';
import { routes as accessRoutes } from '../../lib/server/routes/access.ts';
import { createAccessService, type AccessService } from '../../lib/access/service.ts';
import { accessTypedData, randomNonce } from '../../lib/access/request.ts';
import { openDatabase, type Database } from '../../db/client.ts';
import { indexOnce } from '../../lib/indexer/index.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import {
  ACCESS,
  asGuardian,
  asTimelock,
  makeVersion,
  modelIdOf,
  publish,
  startTestChain,
  type ModelVersionFiles,
  type TestChain,
} from '../helpers/consumer.ts';

let chain: TestChain;
let database: Database;
let server: http.Server;
let base: string;
let access: AccessService;
let clock = Math.floor(Date.now() / 1000);
const manifests = new Map<string, Buffer>();
let client: PublicClient;
let tiny: ModelVersionFiles;
let gatedId: bigint;

const allowed = privateKeyToAccount(DEV_ACCOUNTS[1].privateKey);
const stranger = privateKeyToAccount(DEV_ACCOUNTS[2].privateKey);

let indexedBlock: number | null = null;
async function reindex() {
  indexedBlock = (await indexOnce({ db: database, publicClient: client, deployment: chain.deployment, confirmations: 0 })).indexedBlock;
}

beforeAll(async () => {
  chain = await startTestChain();
  client = createPublicClient({ transport: viemHttp(chain.rpcUrl) }) as PublicClient;
  tiny = makeVersion('tiny-lm', { 'model.safetensors': 1000, 'config.json': Buffer.from('{}') });
  await publish(chain, 'tiny-lm', tiny);
  const gated = makeVersion('gated-lm', { 'w.bin': 500 });
  await publish(chain, 'gated-lm', gated, { access: ACCESS.Allowlist });
  gatedId = await modelIdOf(chain, 'gated-lm');
  await asTimelock(chain, 'setAllowlist', [gatedId, [allowed.address], true]);
  const revoked = makeVersion('revoked-lm', { 'w.bin': 10 });
  await publish(chain, 'revoked-lm', revoked);
  await asGuardian(chain, 'revokeVersion', [await modelIdOf(chain, 'revoked-lm'), 1]);
  for (const v of [tiny, gated, revoked]) manifests.set(v.digest, v.manifestBytes);

  database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
  await reindex();
  access = createAccessService({
    chainId: chain.deployment.chainId,
    registry: chain.deployment.contracts.ModelRegistry,
    publicClient: client,
    db: database.db,
    audiences: () => [base],
    secret: Buffer.from('test-secret-test-secret-test-secret!'),
    tokenTtlSeconds: 3600,
    recheckSeconds: 60,
    now: () => clock,
  });
  const ctx = {
    env: { publicBaseUrl: 'http://models.example' },
    deployment: chain.deployment,
    db: database.db,
    access,
    indexer: { status: () => ({ indexedBlock }) },
    manifests: { get: async (d: string) => manifests.get(d) ?? null },
  };
  const route = createRouter([...modelRoutes, ...accessRoutes] as never[], () => ctx as never);
  server = http.createServer((req, res) => {
    route(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await database?.close();
  await chain?.stop();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function signRequest(
  account = allowed,
  opts: { modelId?: bigint; expiry?: number; nonce?: Hex; chainId?: number; registry?: Hex; audience?: string } = {},
) {
  const request = {
    account: account.address,
    modelId: opts.modelId ?? gatedId,
    audience: opts.audience ?? base,
    nonce: opts.nonce ?? randomNonce(),
    expiry: BigInt(opts.expiry ?? clock + 300),
  };
  const chainId = opts.chainId ?? chain.deployment.chainId;
  const registry = opts.registry ?? chain.deployment.contracts.ModelRegistry;
  const signature = await account.signTypedData(accessTypedData(chainId, registry, request));
  return {
    request: {
      account: request.account,
      modelId: request.modelId.toString(),
      audience: request.audience,
      nonce: request.nonce,
      expiry: request.expiry.toString(),
    },
    signature,
  };
}

async function postAccess(body: unknown) {
  const res = await fetch(`${base}/api/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe('consumer API', () => {
  it('lists models with their access rules and current versions', async () => {
    const r = await get('/api/models');
    expect(r.status).toBe(200);
    expect(r.body.chainId).toBe(chain.deployment.chainId);
    const slugs = r.body.models.map((m: { slug: string }) => m.slug);
    expect(slugs).toEqual(['tiny-lm', 'gated-lm', 'revoked-lm']);
    expect(r.body.models[1].access.kind).toBe('allowlist');
  });

  it('serves the current version with its manifest digest, manifest, absolute blob URLs and the block it was read at', async () => {
    const r = await get('/api/models/tiny-lm/current');
    expect(r.status).toBe(200);
    expect(r.body.version).toBe(1);
    expect(r.body.manifestDigest).toBe(tiny.digest);
    expect(r.body.manifest.files).toHaveLength(2);
    expect(r.body.files[0].url).toMatch(/^http:\/\/models\.example\/api\/blobs\/[0-9a-f]{64}$/);
    expect(r.body.blockNumber).toBe(Number(await client.getBlockNumber({ cacheTime: 0 })));
    expect(r.headers.get('etag')).toBeTruthy();
    expect(r.headers.get('cache-control')).toContain('max-age');
    const again = await fetch(`${base}/api/models/tiny-lm/current`, { headers: { 'if-none-match': r.headers.get('etag')! } });
    expect(again.status).toBe(304);
    const v = await get('/api/models/tiny-lm/versions/1');
    expect(v.body.manifestDigest).toBe(tiny.digest);
    const m = await get('/api/models/tiny-lm');
    expect(m.body.versions).toHaveLength(1);
    expect(m.body.versions[0].status).toBe('active');
  });

  it('answers 404 for an unknown model or version, 409 with the reason when there is no current version, 410 for a revoked version', async () => {
    expect((await get('/api/models/nope')).status).toBe(404);
    expect((await get('/api/models/nope/current')).body.error.code).toBe('unknown_model');
    expect((await get('/api/models/tiny-lm/versions/9')).status).toBe(404);
    const none = await get('/api/models/revoked-lm/current');
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('no_current_version');
    expect(none.body.error.message).toMatch(/revoked/);
    const gone = await get('/api/models/revoked-lm/versions/1');
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('version_revoked');
  });

  it('picks up a new version once the index advances', async () => {
    const before = await get('/api/models/tiny-lm/current');
    const v2 = makeVersion('tiny-lm', { 'model.safetensors': 2000 });
    manifests.set(v2.digest, v2.manifestBytes);
    await publish(chain, 'tiny-lm', v2, { parent: 1 });
    expect((await get('/api/models/tiny-lm/current')).body.version).toBe(1); // index not advanced yet
    await reindex();
    const after = await get('/api/models/tiny-lm/current');
    expect(after.body.version).toBe(2);
    expect(after.body.manifestDigest).toBe(v2.digest);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
  });
});

describe('gated models', () => {
  it('hides the file list of a gated model from requests without a token', async () => {
    const r = await get('/api/models/gated-lm/current');
    expect(r.status).toBe(200);
    expect(r.body.accessRequired).toBe(true);
    expect(r.body.manifest).toBeNull();
    expect(r.body.files).toBeNull();
  });

  it('exchanges a signed request from an allowlisted account for a token that unlocks the manifest', async () => {
    const r = await postAccess(await signRequest());
    expect(r.status).toBe(200);
    expect(r.body.token).toBeTypeOf('string');
    expect(r.body.recheckAfterSeconds).toBe(60);
    const full = await get('/api/models/gated-lm/current', { authorization: `Bearer ${r.body.token}` });
    expect(full.body.files).toHaveLength(1);
    expect(full.headers.get('cache-control')).toContain('private');
    await expect(access.checkBlobAccess({ token: r.body.token, modelIds: [gatedId] })).resolves.toBeTruthy();
  });

  it('refuses a download without a token or with a token for another model', async () => {
    await expect(access.checkBlobAccess({ token: undefined, modelIds: [gatedId] })).rejects.toMatchObject({
      kind: 'unauthenticated',
      code: 'access_token_required',
    });
    await expect(access.checkBlobAccess({ token: 'garbage.token', modelIds: [gatedId] })).rejects.toMatchObject({
      kind: 'unauthenticated',
      code: 'invalid_token',
    });
    const t = (await postAccess(await signRequest())).body.token;
    await expect(access.checkBlobAccess({ token: t, modelIds: [gatedId + 100n] })).rejects.toMatchObject({ kind: 'forbidden', code: 'token_wrong_model' });
  });

  it('refuses an account the access rule does not allow', async () => {
    const r = await postAccess(await signRequest(stranger));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('access_denied');
  });

  it('refuses an expired request and one that expires more than 10 minutes ahead', async () => {
    const expired = await postAccess(await signRequest(allowed, { expiry: clock - 1 }));
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('request_expired');
    const far = await postAccess(await signRequest(allowed, { expiry: clock + 601 }));
    expect(far.status).toBe(400);
    expect(far.body.error.code).toBe('expiry_too_far');
  });

  it('accepts a nonce only once', async () => {
    const body = await signRequest();
    expect((await postAccess(body)).status).toBe(200);
    const again = await postAccess(body);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('nonce_reused');
  });

  it('rejects a signature made for another chain or another registry', async () => {
    const otherChain = await postAccess(await signRequest(allowed, { chainId: 1 }));
    expect(otherChain.status).toBe(401);
    expect(otherChain.body.error.code).toBe('invalid_signature');
    const otherRegistry = await postAccess(await signRequest(allowed, { registry: '0x000000000000000000000000000000000000dEaD' }));
    expect(otherRegistry.status).toBe(401);
    expect(otherRegistry.body.error.code).toBe('invalid_signature');
    // A client that says which domain it signed gets told precisely.
    const declared = await postAccess({ ...(await signRequest(allowed, { chainId: 1 })), domain: { chainId: 1 } });
    expect(declared.body.error.code).toBe('wrong_chain');
    const forged = await signRequest(stranger);
    forged.request.account = allowed.address; // stranger's signature claiming to be the allowed account
    expect((await postAccess(forged)).body.error.code).toBe('invalid_signature');
  });

  it('stops serving an account removed from the allowlist as soon as the removal is indexed, whatever the token age', async () => {
    const token = (await postAccess(await signRequest())).body.token as string;
    await asTimelock(chain, 'setAllowlist', [gatedId, [allowed.address], false]);
    // Mined but not indexed yet: the fresh token still works (no chain read per request)…
    await expect(access.checkBlobAccess({ token, modelIds: [gatedId] })).resolves.toBeTruthy();
    // …indexed: refused at once, no waiting for the re-check window (clock unchanged).
    await reindex();
    await expect(access.checkBlobAccess({ token, modelIds: [gatedId] })).rejects.toMatchObject({ kind: 'forbidden', code: 'access_revoked' });
    const fresh = await postAccess(await signRequest());
    expect(fresh.status).toBe(403);
    await asTimelock(chain, 'setAllowlist', [gatedId, [allowed.address], true]);
    await reindex();
    const again = (await postAccess(await signRequest())).body.token as string;
    await expect(access.checkBlobAccess({ token: again, modelIds: [gatedId] })).resolves.toBeTruthy();
  });

  it('re-reads canAccess on chain as soon as an indexed access-rule change is seen', async () => {
    const token = (await postAccess(await signRequest())).body.token as string;
    // Allowlist → TokenHolders with a minimum the account does not hold: balances are not indexed,
    // so the changed rule triggers an on-chain check at once (clock unchanged: no window passed).
    await asTimelock(chain, 'setAccessRule', [gatedId, { kind: ACCESS.TokenHolders, token: chain.deployment.contracts.ModelToken, minBalance: 10n ** 30n }]);
    await reindex();
    await expect(access.checkBlobAccess({ token, modelIds: [gatedId] })).rejects.toMatchObject({ kind: 'forbidden', code: 'access_revoked' });
    await asTimelock(chain, 'setAccessRule', [gatedId, { kind: ACCESS.Allowlist, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
    await reindex();
  });

  it('bounds what the index cannot see (balances) by the re-check window', async () => {
    const token = (await postAccess(await signRequest())).body.token as string;
    clock += 61;
    // older than the window: canAccess is read on chain again (still allowed here)
    await expect(access.checkBlobAccess({ token, modelIds: [gatedId] })).resolves.toBeTruthy();
  });

  it('rejects malformed access requests with a JSON error', async () => {
    const r = await postAccess({ request: { account: 'nope' }, signature: '0x' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
  });
});
