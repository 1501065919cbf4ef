// The embedded IPFS node (IPFS_LISTEN, lib/ipfs/node.ts) on the real server (lib/server/main.ts,
// plain API, in-process indexer, PGlite), with versions published and revoked on anvil through the
// impersonated timelock/guardian and picked up by the real indexer. A second, independent Helia
// node (its own libp2p: TCP, noise, yamux; no routing) dials the server's node by the multiaddr
// /api/health announces and fetches by CID over bitswap. Loopback only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CID } from 'multiformats/cid';
import type { Hex } from 'viem';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { publishFiles } from '../../lib/devchain/publish.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import { installNode20Polyfills } from '../../lib/ipfs/polyfills.ts';
import { offlineHeliaOptions, offlineLibp2pOptions } from '../../lib/ipfs/node.ts';
import { advanceTime, DEV_ACCOUNTS, freePort } from '../helpers/anvil.ts';
import { ACCESS, asGuardian, asTimelock, modelIdOf, startTestChain, type TestChain } from '../helpers/consumer.ts';

installNode20Polyfills();
const MiB = 1024 * 1024;
let chain: TestChain;
let server: RunningServer;
let dataDir: string;
const clients: { stop(): Promise<unknown> }[] = [];

interface Health {
  ipfs: { enabled: boolean; peerId: string; listen: string[]; announce: string[]; dht: boolean; bootstrap: string[] };
}

/** Distinct 1 MiB chunks (no duplicate leaves) + a tail. */
function weights(mib: number, tail: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < mib; i++) parts.push(crypto.randomBytes(MiB));
  parts.push(crypto.randomBytes(tail));
  return Buffer.concat(parts);
}
const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

async function publish(slug: string, kind: number, files: { path: string; bytes: Buffer }[]) {
  const p = await publishFiles({
    baseUrl: server.url,
    privateKey: DEV_ACCOUNTS[0].privateKey as Hex,
    deployment: chain.deployment,
    model: slug,
    parent: null,
    files,
    metadata: {},
  });
  await asTimelock(chain, 'registerModel', [slug, { kind, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  const modelId = await modelIdOf(chain, slug);
  await asTimelock(chain, 'publishVersion', [modelId, p.manifestDigest, 0]);
  return { ...p, modelId };
}

/** An independent Helia node connected to nothing but the server's node. */
async function client() {
  const { createHelia } = await import('helia');
  const { unixfs } = await import('@helia/unixfs');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const helia = await createHelia({ ...offlineHeliaOptions(), libp2p: await offlineLibp2pOptions({ listen: [] }) } as never);
  clients.push(helia);
  await helia.start();
  const health = (await (await fetch(`${server.url}/api/health`)).json()) as Health;
  await helia.libp2p.dial(multiaddr(health.ipfs.announce[0]!));
  const fs_ = unixfs(helia);
  return {
    helia,
    async cat(cid: string, timeoutMs: number): Promise<Buffer> {
      const parts: Uint8Array[] = [];
      for await (const c of fs_.cat(CID.parse(cid), { signal: AbortSignal.timeout(timeoutMs) })) parts.push(c);
      return Buffer.concat(parts);
    },
  };
}

let pub: Awaited<ReturnType<typeof publish>>;
let gated: Awaited<ReturnType<typeof publish>>;
let unpublished: { cid: string };
let bigBytes: Buffer;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bitswap-'));
  chain = await startTestChain();
  await new Governance(chain.rpcUrl, chain.deployment).delegate(DEV_ACCOUNTS[0].privateKey as Hex);
  await advanceTime(chain.rpcUrl, 1);
  const env = parseEnv({
    ANVIL_PORT: String(chain.port),
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    INDEXER_POLL_MS: '100',
    IPFS_LISTEN: '/ip4/127.0.0.1/tcp/0',
  });
  server = await startServer({ env, withNext: false, log: () => {} });
  bigBytes = weights(6, 54321);
  pub = await publish('swap-lm', ACCESS.Public, [
    { path: 'model.bin', bytes: bigBytes },
    { path: 'config.json', bytes: Buffer.from('{"hidden":64}') },
  ]);
  gated = await publish('members-lm', ACCESS.Allowlist, [{ path: 'secret.bin', bytes: weights(2, 7) }]);
  const up = await publishFiles({
    baseUrl: server.url,
    privateKey: DEV_ACCOUNTS[0].privateKey as Hex,
    deployment: chain.deployment,
    model: 'draft-lm',
    parent: null,
    files: [{ path: 'draft.bin', bytes: weights(2, 9) }],
    metadata: {},
  });
  unpublished = { cid: up.files[0]!.cid };
  await server.waitForIndex();
}, 240_000);

afterAll(async () => {
  for (const c of clients) await c.stop().catch(() => {});
  await server?.close();
  await chain?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('IPFS_* environment', () => {
  it('rejects a listen address that is not a TCP multiaddr, and a bootstrap peer without /p2p/, naming the variable', () => {
    expect(() => parseEnv({ IPFS_LISTEN: '0.0.0.0:4001' })).toThrow(/IPFS_LISTEN.*not a TCP multiaddr/);
    expect(() => parseEnv({ IPFS_BOOTSTRAP: '/ip4/10.0.0.1/tcp/4001' })).toThrow(/IPFS_BOOTSTRAP/);
    const env = parseEnv({ IPFS_LISTEN: '/ip4/0.0.0.0/tcp/4001, /ip6/::/tcp/4001' });
    expect(env.IPFS_LISTEN).toEqual(['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001']);
    expect(env.IPFS_DHT).toBe(false);
    expect(parseEnv({}).IPFS_LISTEN).toEqual([]);
  });
});

describe('embedded IPFS node', () => {
  it('/api/health reports its peer id, listen and announce multiaddrs; it is offline (no discovery, no DHT, no connections of its own)', async () => {
    const health = (await (await fetch(`${server.url}/api/health`)).json()) as Health;
    expect(health.ipfs.enabled).toBe(true);
    expect(health.ipfs.peerId).toMatch(/^12D3KooW/);
    expect(health.ipfs.listen).toHaveLength(1);
    expect(health.ipfs.listen[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
    expect(health.ipfs.announce).toEqual([`${health.ipfs.listen[0]}/p2p/${health.ipfs.peerId}`]);
    expect(health.ipfs.dht).toBe(false);
    expect(health.ipfs.bootstrap).toEqual([]);
    expect(server.ipfs!.services()).toEqual(['identify']);
    expect(server.ipfs!.peerDiscovery()).toBe(0);
    // before any client dialled in, the node dialled nobody
    expect(server.ipfs!.connections()).toEqual([]);
  });

  it('an independent Helia node fetches a multi-MiB approved file by CID over bitswap: the bytes equal the original', async () => {
    const c = await client();
    const cid = pub.files.find((f) => f.path === 'model.bin')!.cid;
    expect(CID.parse(cid).code).toBe(0x70); // a multi-block DAG, not one raw block
    const got = await c.cat(cid, 120_000);
    expect(got.length).toBe(bigBytes.length);
    expect(sha(got)).toBe(sha(bigBytes));
    const config = await c.cat(pub.files.find((f) => f.path === 'config.json')!.cid, 30_000);
    expect(config.toString()).toBe('{"hidden":64}');
    // the manifest itself (the on-chain digest as a raw CID) is provided too
    const digest = await import('multiformats/hashes/digest');
    const mcid = CID.createV1(0x55, digest.create(0x12, Buffer.from(pub.manifestDigest.slice(2), 'hex')));
    const manifest = JSON.parse((await c.cat(mcid.toString(), 30_000)).toString()) as { model: string };
    expect(manifest.model).toBe('swap-lm');
    for (const a of server.ipfs!.connections()) expect(a).toMatch(/^\/ip4\/127\.0\.0\.1\//);
  }, 180_000);

  it('a gated (allowlist) or unpublished file is not provided: the fetch gets nothing and ends with the short signal', async () => {
    const c = await client();
    const presences: { cid: string; has: boolean }[] = [];
    const brokers = (c.helia as unknown as { blockBrokers: { name?: string; bitswap?: { wantList: EventTarget } }[] }).blockBrokers;
    brokers
      .find((b) => b.name === 'bitswap')!
      .bitswap!.wantList.addEventListener('presence', (e) => {
        const d = (e as CustomEvent<{ cid: CID; has: boolean }>).detail;
        presences.push({ cid: d.cid.toString(), has: d.has });
      });
    for (const cid of [gated.files[0]!.cid, unpublished.cid]) {
      const t0 = Date.now();
      const outcome = await c.cat(cid, 2500).then(
        (b) => `got ${b.length} bytes`,
        (err: Error) => `failed: ${err.message}`,
      );
      expect(outcome).toMatch(/^failed: (Failed to load block|.*abort)/i);
      expect(Date.now() - t0).toBeLessThan(20_000);
    }
    // the node said so with DONT_HAVE, never HAVE (the client's bitswap reports the presences it
    // decoded; before the enum fix in lib/ipfs/streaming-ledger.ts a DONT_HAVE arrived as HAVE)
    const refused = new Set([gated.files[0]!.cid, unpublished.cid].map((c) => CID.parse(c).toString()));
    // (a want the client sent within its full want list on connect asks for no DONT_HAVE: at least one arrives)
    for (const p of presences) if (refused.has(p.cid)) expect(p.has, p.cid).toBe(false);
    expect(presences.filter((p) => refused.has(p.cid) && !p.has).length).toBeGreaterThan(0);
    // the same client, same connection, still gets public content: the refusal was about the CIDs
    expect((await c.cat(pub.files.find((f) => f.path === 'config.json')!.cid, 30_000)).toString()).toBe('{"hidden":64}');
  }, 60_000);

  it('a revoked version stops being provided', async () => {
    const cid = pub.files.find((f) => f.path === 'config.json')!.cid;
    await asGuardian(chain, 'revokeVersion', [pub.modelId, 1]);
    await server.waitForIndex();
    // the gateway and the node share one status cache (2 s TTL): once /ipfs/ says 410, so does bitswap
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${server.url}/ipfs/${cid}?format=raw`)).status !== 410) {
      if (Date.now() > deadline) throw new Error('gateway never answered 410 for the revoked version');
      await new Promise((r) => setTimeout(r, 200));
    }
    const c = await client();
    await expect(c.cat(cid, 2500)).rejects.toThrow(/Failed to load block|abort/i);
  }, 60_000);
});
