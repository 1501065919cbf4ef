// Remote pinning against a pinning service modeldao did not write: @helia/pinning-service-api-server
// (Helia 5 / libp2p 2 / fastify; tests/helpers/helia-pinning-server.ts), on loopback, its libp2p TCP on
// 127.0.0.1 only with bitswap as its one way to get blocks. The real server (lib/server/main.ts, PGlite,
// in-process indexer, embedded IPFS node) has it as its only pinning service; a version approved on
// anvil reaches it through the indexer, it fetches every block from our node over bitswap, and a
// revocation removes the pins.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Hex } from 'viem';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { publishFiles } from '../../lib/devchain/publish.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import type { PinsView } from '../../lib/server/routes/pins.ts';
import { advanceTime, DEV_ACCOUNTS, freePort } from '../helpers/anvil.ts';
import { ACCESS, asGuardian, asTimelock, modelIdOf, startTestChain, type TestChain } from '../helpers/consumer.ts';
import { startHeliaPinningServer, type HeliaPinningServer } from '../helpers/helia-pinning-server.ts';

const MiB = 1024 * 1024;
let chain: TestChain;
let server: RunningServer;
let helia: HeliaPinningServer;
let dataDir: string;

type Pin = PinsView['versions'][number]['pins'][number];

/** Polls GET /api/models/{slug}/pins (the observable) until `done` holds for version `v`. */
async function until(slug: string, v: number, done: (pins: Pin[]) => boolean, timeoutMs = 45_000): Promise<Pin[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await (await fetch(`${server.url}/api/models/${slug}/pins`)).json()) as PinsView;
    const pins = view.versions.find((x) => x.version === v)?.pins ?? [];
    if (pins.length > 0 && done(pins)) return pins;
    if (Date.now() > deadline) throw new Error(`${slug} v${v}: not reached; pins now ${JSON.stringify(pins.map((p) => [p.name, p.state, p.error]))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the Helia service says about a request (GET /pins/{requestid}, its own API). */
async function remoteStatus(requestId: string): Promise<{ status: number; body: { status?: string; pin?: { cid: string; origins?: string[] } } }> {
  const res = await fetch(`${helia.url}/pins/${requestId}`, { headers: { authorization: `Bearer ${helia.token}` } });
  return { status: res.status, body: (await res.json()) as never };
}

/** The file as the Helia service's own blockstore holds it: root node, then every leaf, each checked against its CID. */
async function bytesFromServiceBlockstore(cid: string): Promise<Buffer> {
  const root = CID.parse(cid);
  const block = async (c: CID) => {
    const bytes = await helia.blocks.get(c.toString());
    expect(crypto.createHash('sha256').update(bytes).digest().equals(Buffer.from(c.multihash.digest))).toBe(true);
    return bytes;
  };
  if (root.code === 0x55) return Buffer.from(await block(root));
  const node = dagPb.decode(await block(root));
  const parts: Buffer[] = [];
  for (const link of node.Links) parts.push(await bytesFromServiceBlockstore(link.Hash.toString()));
  return Buffer.concat(parts);
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-helia-pin-'));
  [chain, helia] = await Promise.all([startTestChain(), startHeliaPinningServer({ token: `helia-${crypto.randomBytes(12).toString('hex')}` })]);
  await new Governance(chain.rpcUrl, chain.deployment).delegate(DEV_ACCOUNTS[0].privateKey as Hex);
  await advanceTime(chain.rpcUrl, 1);
  const servicesFile = path.join(dataDir, 'pinning.json');
  fs.writeFileSync(servicesFile, JSON.stringify([{ name: 'helia', endpoint: helia.url, token: helia.token }]));
  const env = parseEnv({
    ANVIL_PORT: String(chain.port),
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    INDEXER_POLL_MS: '100',
    IPFS_LISTEN: '/ip4/127.0.0.1/tcp/0',
    PINNING_SERVICES_FILE: servicesFile,
    PINNING_TIMEOUT_MS: '5000',
    PINNING_RETRY_BASE_MS: '200',
    PINNING_POLL_BASE_MS: '100',
    PINNING_POLL_MAX_MS: '500',
  });
  server = await startServer({ env, withNext: false, log: () => {} });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await helia?.stop();
  await chain?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

it('approve → @helia/pinning-service-api-server pins every CID after fetching the blocks from our node over bitswap; revoke → unpinned', async () => {
  const slug = 'helia-pin-lm';
  await asTimelock(chain, 'registerModel', [slug, { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  const modelId = await modelIdOf(chain, slug);
  const weights = crypto.randomBytes(4 * MiB + 1234);
  const config = Buffer.from('{"layers":4,"hidden":256}');
  const p = await publishFiles({
    baseUrl: server.url,
    privateKey: DEV_ACCOUNTS[0].privateKey as Hex,
    deployment: chain.deployment,
    model: slug,
    parent: null,
    files: [
      { path: 'model.bin', bytes: weights },
      { path: 'config.json', bytes: config },
    ],
    metadata: {},
  });
  await asTimelock(chain, 'publishVersion', [modelId, p.manifestDigest, 0]);
  await server.waitForIndex();

  const pins = await until(slug, 1, (ps) => ps.every((x) => x.state === 'pinned'));
  expect(pins.map((x) => x.name).sort()).toEqual([`modeldao:${slug}@v1`, `modeldao:${slug}@v1/config.json`, `modeldao:${slug}@v1/model.bin`]);
  expect(pins.every((x) => x.service === 'helia' && x.error === null && x.requestId)).toBe(true);

  // the service agrees, per request, and was given our node as the origin
  const announce = server.ipfs!.origins();
  for (const pin of pins) {
    const r = await remoteStatus(pin.requestId!);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('pinned');
    expect(r.body.pin?.cid).toBe(pin.cid);
    expect(r.body.pin?.origins).toEqual(announce);
  }
  expect((await helia.pinned()).sort()).toEqual(pins.map((x) => x.cid).sort());
  // its blockstore (started empty; bitswap is its only block source, no router knows a provider, so
  // the blocks came from the origin it dialled: our node) holds every block, and they are our bytes
  expect(helia.peers()).toContain(server.ipfs!.info().peerId);
  const byPath = new Map(pins.map((x) => [x.path, x.cid]));
  expect((await bytesFromServiceBlockstore(byPath.get('model.bin')!)).equals(weights)).toBe(true);
  expect((await bytesFromServiceBlockstore(byPath.get('config.json')!)).equals(config)).toBe(true);
  const manifest = await bytesFromServiceBlockstore(byPath.get('')!);
  expect(crypto.createHash('sha256').update(manifest).digest('hex')).toBe(p.manifestDigest.slice(2));
  // one POST /pins per CID: nothing sent twice
  expect(helia.log.filter((e) => e.method === 'POST' && e.url === '/pins' && e.status === 202)).toHaveLength(3);

  await asGuardian(chain, 'revokeVersion', [modelId, 1]);
  await server.waitForIndex();
  const unpinned = await until(slug, 1, (ps) => ps.every((x) => x.state === 'unpinned'));
  expect(unpinned.every((x) => x.want === 'unpinned' && x.error === null)).toBe(true);
  for (const pin of pins) expect((await remoteStatus(pin.requestId!)).status).toBe(404);
  const list = await fetch(`${helia.url}/pins?status=queued,pinning,pinned,failed`, { headers: { authorization: `Bearer ${helia.token}` } });
  expect(((await list.json()) as { count: number }).count).toBe(0);
  expect(helia.log.filter((e) => e.method === 'DELETE' && e.status === 202)).toHaveLength(3);
  // and its Helia node no longer pins them (its blocks may be garbage-collected)
  expect(await helia.pinned()).toEqual([]);
}, 90_000);
