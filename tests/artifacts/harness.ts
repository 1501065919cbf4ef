// Test harness: a real anvil with the deployed contracts, an in-memory PGlite with the committed
// migrations, a store in a temp dir, and the upload/manifest/blob routes on a node:http server.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { openDatabase, type Database } from '../../db/client.ts';
import { createChainClient } from '../../lib/chain/client.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import { LocalArtifactStore } from '../../lib/artifacts/store.ts';
import { signUploadAuthorization } from '../../lib/artifacts/upload-auth-format.ts';
import type { ArtifactRoutesContext, CheckAccess } from '../../lib/artifacts/routes-context.ts';
import { createRouter, HttpError, sendError } from '../../lib/server/http.ts';
import { routes as uploadRoutes } from '../../lib/server/routes/uploads.ts';
import { routes as sessionRoutes } from '../../lib/server/routes/sessions.ts';
import { routes as manifestRoutes } from '../../lib/server/routes/manifests.ts';
import { routes as blobRoutes } from '../../lib/server/routes/blobs.ts';
import { routes as ipfsRoutes } from '../../lib/server/routes/ipfs.ts';
import { advanceTime, DEV_ACCOUNTS, startTestChain, type TestChain } from '../helpers/anvil.ts';

export interface Harness {
  chain: TestChain;
  database: Database;
  store: LocalArtifactStore;
  storeDir: string;
  url: string;
  ctx: ArtifactRoutesContext;
  /** Authorization header for a dev account (index into DEV_ACCOUNTS). */
  auth(account?: number, expiry?: number): Promise<string>;
  /**
   * Bytes the server has read from the client connection whose local port is `clientPort` (-1 when
   * there is none): compared with the client socket's bytesWritten, a test knows every byte it sent
   * has arrived, instead of sleeping while they are in flight.
   */
  bytesReadFrom(clientPort: number): number;
  /** Gated-model access hook used by the blob route (tests swap it). */
  setCheckAccess(fn: CheckAccess): void;
  close(): Promise<void>;
}

export async function startHarness(env: Partial<ArtifactRoutesContext['env']> = {}): Promise<Harness> {
  const chain = await startTestChain();
  const gov = new Governance(chain.rpcUrl, chain.deployment);
  // Account 0 delegates to itself so it reaches the proposal threshold; then the clock moves on.
  await gov.delegate(DEV_ACCOUNTS[0].privateKey);
  await advanceTime(chain.rpcUrl, 2);
  const database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-artifacts-'));
  const store = await LocalArtifactStore.open(storeDir);
  let checkAccess: CheckAccess = async () => {
    throw new HttpError(401, 'access_token_required', 'gated');
  };
  let url = '';
  const ctx: ArtifactRoutesContext = {
    env: { UPLOAD_MAX_BYTES: 64 * 1024 * 1024, UPLOAD_TTL_SECONDS: 3600, UPLOAD_QUOTA_BYTES: 1024 * 1024 * 1024, ...env },
    deployment: chain.deployment,
    publicClient: createChainClient(chain.rpcUrl, chain.deployment.chainId),
    db: database.db,
    store,
    checkAccess: (req, input) => checkAccess(req, input),
    // the origin is known once the server listens (below)
    uploadAudiences: () => [url],
  };
  const route = createRouter([...uploadRoutes, ...sessionRoutes, ...manifestRoutes, ...blobRoutes, ...ipfsRoutes], () => ctx);
  const server = http.createServer(async (req, res) => {
    try {
      if (!(await route(req, res))) sendError(res, new HttpError(404, 'not_found', 'no route'));
    } catch (err) {
      sendError(res, err);
    }
  });
  server.requestTimeout = 0;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  // as lib/server/main.ts: a client reusing a keep-alive socket must not race the server closing it
  // (Helia's gateway session drops a provider for good after one failed request)
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    chain,
    database,
    store,
    storeDir,
    url,
    ctx,
    auth: (i = 0, expiry) =>
      signUploadAuthorization(privateKeyToAccount(DEV_ACCOUNTS[i]!.privateKey as Hex), {
        account: DEV_ACCOUNTS[i]!.address,
        chainId: chain.deployment.chainId,
        registry: chain.deployment.contracts.ModelRegistry,
        audience: url,
        expiry,
      }),
    bytesReadFrom: (clientPort) => [...sockets].find((s) => s.remotePort === clientPort)?.bytesRead ?? -1,
    setCheckAccess: (fn) => (checkAccess = fn),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await database.close();
      await chain.stop();
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

let nextModelId = 1;
/**
 * Index rows as the indexer writes them after ModelRegistered + VersionPublished (the route and
 * pinning logic read only these tables).
 */
export async function indexVersion(
  h: Harness,
  o: { manifestDigest: string; accessKind?: 'Public' | 'TokenHolders' | 'Allowlist'; status?: 'Active' | 'Deprecated' | 'Revoked'; modelId?: number },
): Promise<number> {
  const modelId = o.modelId ?? nextModelId++;
  const chainId = h.chain.deployment.chainId;
  await h.database.db.execute(sql`
    insert into model (chain_id, model_id, slug, access_kind, access_token, access_min_balance, current_version, version_count,
                       registered_at_block, registered_at, registered_tx, updated_at_block)
    values (${chainId}, ${modelId}, ${'m' + modelId}, ${o.accessKind ?? 'Public'}, '0x0000000000000000000000000000000000000000', 0, 1, 1, 1, now(), '0x01', 1)
    on conflict do nothing`);
  await h.database.db.execute(sql`
    insert into model_version (chain_id, model_id, version, manifest_digest, parent_version, published_at, published_block, published_tx, status)
    values (${chainId}, ${modelId}, (select coalesce(max(version), 0) + 1 from model_version where chain_id = ${chainId} and model_id = ${modelId}),
            ${o.manifestDigest}, 0, now(), 1, '0x02', ${o.status ?? 'Active'})`);
  return modelId;
}

export async function setVersionStatus(h: Harness, modelId: number, status: string) {
  await h.database.db.execute(sql`update model_version set status = ${status} where model_id = ${modelId}`);
}

export async function upload(h: Harness, bytes: Uint8Array, headers: Record<string, string> = {}, account = 0) {
  const res = await fetch(`${h.url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: await h.auth(account), 'content-type': 'application/octet-stream', ...headers },
    body: bytes as unknown as BodyInit,
  });
  return { status: res.status, body: (await res.json()) as any };
}
