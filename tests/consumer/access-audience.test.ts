// Issue #18 (security): signed access requests are bound to the server they are meant for, and an
// allowlist removal stops downloads as soon as it is indexed. Two real servers (plain routes, PGlite,
// in-process indexer) on one real anvil DAO; the registry changes are the timelock's (its owner).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { accessRequestTypes, accessTypedData, randomNonce } from '../../lib/access/request.ts';
import { requestAccess } from '../../lib/sdk/access.ts';
import { ModelDaoError } from '../../lib/sdk/errors.ts';
import { publishFiles } from '../../lib/devchain/publish.ts';
import { uploadAuthHeaders } from '../../lib/sdk/upload.ts';
import { encodeUploadAuthorization, uploadAuthorizationTypes, uploadDomain } from '../../lib/artifacts/upload-auth-format.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import { advanceTime, DEV_ACCOUNTS, freePort } from '../helpers/anvil.ts';
import { ACCESS, asTimelock, modelIdOf, startTestChain, type TestChain } from './fixtures.ts';

let chain: TestChain;
let serverA: RunningServer;
let serverB: RunningServer;
const dirs: string[] = [];
let modelId: bigint;
let blobUrl: string;
const member = privateKeyToAccount(DEV_ACCOUNTS[3].privateKey);

async function start(): Promise<RunningServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-aud-'));
  dirs.push(dataDir);
  const env = parseEnv({
    ANVIL_PORT: String(chain.port),
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    INDEXER_POLL_MS: '100',
  });
  return startServer({ env, withNext: false, log: () => {} });
}

beforeAll(async () => {
  chain = await startTestChain();
  // the maintainer needs voting power to upload
  await new Governance(chain.rpcUrl, chain.deployment).delegate(DEV_ACCOUNTS[0].privateKey);
  await advanceTime(chain.rpcUrl, 1);
  [serverA, serverB] = await Promise.all([start(), start()]);
  const bytes = Buffer.alloc(100_000, 7);
  const published = await publishFiles({
    baseUrl: serverA.url,
    privateKey: DEV_ACCOUNTS[0].privateKey,
    deployment: chain.deployment,
    model: 'members-lm',
    parent: null,
    files: [{ path: 'w.bin', bytes }],
    metadata: {},
  });
  await asTimelock(chain, 'registerModel', ['members-lm', { kind: ACCESS.Allowlist, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  modelId = await modelIdOf(chain, 'members-lm');
  await asTimelock(chain, 'publishVersion', [modelId, published.manifestDigest, 0]);
  await asTimelock(chain, 'setAllowlist', [modelId, [member.address], true]);
  await Promise.all([serverA.waitForIndex(), serverB.waitForIndex()]);
  blobUrl = `${serverA.url}/api/blobs/${published.files[0]!.sha256}`;
}, 240_000);

afterAll(async () => {
  await serverA?.close();
  await serverB?.close();
  await chain?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Signs an AccessRequest as `member` for `audience` and returns the POST /api/access body. */
async function signedBody(audience: string) {
  const request = { account: member.address, modelId, audience, nonce: randomNonce(), expiry: BigInt(Math.floor(Date.now() / 1000) + 300) };
  const signature = await member.signTypedData(accessTypedData(chain.deployment.chainId, chain.deployment.contracts.ModelRegistry, request));
  return { request: { ...request, modelId: modelId.toString(), expiry: request.expiry.toString() }, signature };
}

async function post(base: string, body: unknown) {
  const res = await fetch(`${base}/api/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe('access requests are bound to their audience', () => {
  it('health publishes the audience a request must name', async () => {
    const h = await (await fetch(`${serverA.url}/api/health`)).json();
    expect(h.audience).toBe(serverA.url);
  });

  it('a request signed for server A and replayed to server B of the same DAO is refused; A accepts it', async () => {
    const body = await signedBody(serverA.url);
    const replay = await post(serverB.url, body);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('wrong_audience');
    // the replay did not burn the nonce at A (and B has its own database anyway)
    const atA = await post(serverA.url, body);
    expect(atA.status).toBe(200);
    expect(atA.body.token).toBeTypeOf('string');
  });

  it('a request whose audience was changed after signing fails the signature check', async () => {
    const body = await signedBody(serverA.url);
    body.request.audience = serverB.url;
    const r = await post(serverB.url, body);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('invalid_signature');
  });

  it('a request in the old format (no audience) is refused with audience_required', async () => {
    // exactly what a client from before this change signs: the type without the audience field
    const oldTypes = { AccessRequest: accessRequestTypes.AccessRequest.filter((f) => f.name !== 'audience') };
    const request = { account: member.address, modelId, nonce: randomNonce() as Hex, expiry: BigInt(Math.floor(Date.now() / 1000) + 300) };
    const signature = await member.signTypedData({
      domain: accessTypedData(chain.deployment.chainId, chain.deployment.contracts.ModelRegistry, { ...request, audience: '' }).domain,
      types: oldTypes,
      primaryType: 'AccessRequest',
      message: request,
    });
    const r = await post(serverA.url, { request: { ...request, modelId: modelId.toString(), expiry: request.expiry.toString() }, signature });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('audience_required');
    expect(r.body.error.message).toContain(serverA.url);
  });

  it('the SDK signs for the gateway it posts to, so each server accepts its own request', async () => {
    for (const s of [serverA, serverB]) {
      const t = await requestAccess({
        gateway: s.url,
        account: member,
        chainId: chain.deployment.chainId,
        registry: chain.deployment.contracts.ModelRegistry,
        modelId,
      });
      expect(t.token).toBeTypeOf('string');
    }
    // localhost is the same local server as 127.0.0.1 (no PUBLIC_BASE_URL set)
    const viaLocalhost = await requestAccess({
      gateway: serverA.url.replace('127.0.0.1', 'localhost'),
      account: member,
      chainId: chain.deployment.chainId,
      registry: chain.deployment.contracts.ModelRegistry,
      modelId,
    });
    expect(viaLocalhost.token).toBeTypeOf('string');
  });
});

describe('upload authorizations are bound to their audience', () => {
  const maintainer = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey);
  const authFor = (gateway: string) =>
    uploadAuthHeaders({ account: maintainer, chainId: chain.deployment.chainId, registry: chain.deployment.contracts.ModelRegistry, gateway });
  async function upload(base: string, headers: Record<string, string>, bytes = Buffer.alloc(5000, 9)) {
    const res = await fetch(`${base}/api/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...headers },
      body: bytes,
    });
    return { status: res.status, body: await res.json() };
  }

  it('an authorization signed for server A and replayed to server B of the same DAO is refused (401 wrong_audience) for uploads, sessions and manifests; A accepts it', async () => {
    const forA = await authFor(serverA.url);
    const bytes = Buffer.alloc(5000, 0x5a);
    const replay = await upload(serverB.url, forA, bytes);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('wrong_audience');
    expect(replay.body.error.message).toContain(serverB.url);
    const session = await fetch(`${serverB.url}/api/uploads/sessions`, { method: 'POST', headers: { ...forA, 'upload-length': '10' } });
    expect(session.status).toBe(401);
    expect((await session.json()).error.code).toBe('wrong_audience');
    const manifest = await fetch(`${serverB.url}/api/manifests`, { method: 'POST', headers: { ...forA, 'content-type': 'application/json' }, body: '{}' });
    expect(manifest.status).toBe(401);
    expect((await manifest.json()).error.code).toBe('wrong_audience');
    // nothing of the replayed upload reached B's store
    const sha = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
    expect((await fetch(`${serverB.url}/api/blobs/${sha}`, { method: 'HEAD' })).status).toBe(404);
    const atA = await upload(serverA.url, forA, bytes);
    expect(atA.status).toBe(201);
    expect(atA.body.sha256).toBe(sha);
  });

  it('an authorization whose audience was changed after signing fails the signature check', async () => {
    const forA = await authFor(serverA.url);
    const decoded = JSON.parse(Buffer.from(forA.authorization!.split(' ')[1]!, 'base64url').toString('utf8'));
    const tampered = encodeUploadAuthorization({ ...decoded, audience: serverB.url });
    const r = await upload(serverB.url, { authorization: tampered });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('invalid_signature');
  });

  it('an authorization in the old format (no audience) is refused with 400 audience_required naming the audience to sign', async () => {
    // exactly what a client from before this change signs and sends: the type and header without audience
    const expiry = Math.floor(Date.now() / 1000) + 600;
    const signature = await maintainer.signTypedData({
      domain: uploadDomain(chain.deployment.chainId, chain.deployment.contracts.ModelRegistry),
      types: { UploadAuthorization: uploadAuthorizationTypes.UploadAuthorization.filter((f) => f.name !== 'audience') },
      primaryType: 'UploadAuthorization',
      message: { account: maintainer.address, expiry: BigInt(expiry) },
    });
    const header = `ModelDAO-Upload ${Buffer.from(JSON.stringify({ account: maintainer.address, expiry, signature })).toString('base64url')}`;
    const r = await upload(serverA.url, { authorization: header });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('audience_required');
    expect(r.body.error.message).toContain(serverA.url);
  });

  it('each server accepts an authorization signed for itself, also under its local alias (localhost)', async () => {
    for (const s of [serverA, serverB]) expect((await upload(s.url, await authFor(s.url))).status).toBeLessThan(300);
    const viaLocalhost = await authFor(serverB.url.replace('127.0.0.1', 'localhost'));
    expect((await upload(serverB.url, viaLocalhost, Buffer.alloc(5000, 0x11))).status).toBeLessThan(300);
  });
});

describe('revocation takes effect as soon as it is indexed', () => {
  it('download works; the allowlist removal is mined and indexed; the next download is refused at once', async () => {
    const { token } = await requestAccess({
      gateway: serverA.url,
      account: member,
      chainId: chain.deployment.chainId,
      registry: chain.deployment.contracts.ModelRegistry,
      modelId,
    });
    const auth = { authorization: `Bearer ${token}` };
    const ok = await fetch(blobUrl, { headers: auth });
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBe(100_000);

    await asTimelock(chain, 'setAllowlist', [modelId, [member.address], false]);
    const removedAt = Date.now();
    await serverA.waitForIndex();
    const refused = await fetch(blobUrl, { headers: auth });
    const elapsed = Date.now() - removedAt;
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe('access_revoked');
    // far inside ACCESS_RECHECK_SECONDS (60 s): the token's age played no part
    expect(elapsed).toBeLessThan(30_000);
    // and a new request is refused by the chain too
    const again = await requestAccess({
      gateway: serverA.url,
      account: member,
      chainId: chain.deployment.chainId,
      registry: chain.deployment.contracts.ModelRegistry,
      modelId,
    }).catch((e) => e);
    expect(again).toBeInstanceOf(ModelDaoError);
    expect((again as ModelDaoError).code).toBe('access_denied');
  });
});
