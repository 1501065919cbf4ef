// kill -9 of the server while a pin request is on its way (the service has the POST /pins, the
// server never saw the answer): after a restart on the same data dir the pins finish, and the service
// received each (cid, name) exactly once. The server is its own process (lib/server/start.ts, PGlite,
// embedded IPFS node on a fixed loopback port, peer key kept in the data dir). The service's fetch
// from the killed process stalls (its peer is gone, no routing): the restarted server resumes it by
// dialling the status's `delegates`, as the spec's provider hints ask.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { publishFiles } from '../../lib/devchain/publish.ts';
import type { PinsView } from '../../lib/server/routes/pins.ts';
import { DEV_ACCOUNTS, freePort } from '../helpers/anvil.ts';
import { ACCESS, asTimelock, modelIdOf, type TestChain } from '../helpers/consumer.ts';
import { startPinningService, type TestPinningService } from '../helpers/pinning-service.ts';
import { startServerProcess, startUploadChain, tempDir, type ServerProcess, type UploadChain } from '../helpers/server-process.ts';

let up: UploadChain;
let chain: TestChain;
let svc: TestPinningService;
let dataDir: string;
let env: Record<string, string>;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  up = await startUploadChain();
  chain = { ...up.anvil, deployment: up.deployment, deploymentFile: up.deploymentFile } as unknown as TestChain;
  svc = await startPinningService({ slowMs: 1500 });
  dataDir = tempDir('modeldao-pin-kill9-');
  const servicesFile = path.join(dataDir, 'pinning.json');
  fs.writeFileSync(servicesFile, JSON.stringify([{ name: 'testpin', endpoint: svc.url, token: svc.token }]));
  env = {
    INDEXER_POLL_MS: '100',
    IPFS_LISTEN: `/ip4/127.0.0.1/tcp/${await freePort()}`,
    PINNING_SERVICES_FILE: servicesFile,
    PINNING_TIMEOUT_MS: '20000',
    PINNING_RETRY_BASE_MS: '200',
    PINNING_POLL_BASE_MS: '100',
    PINNING_POLL_MAX_MS: '500',
    PINNING_LEASE_MS: '2000',
  };
}, 180_000);

afterAll(async () => {
  for (const s of servers) await s.kill9().catch(() => {});
  await svc?.stop();
  await up?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function pins(url: string, slug: string) {
  const res = await fetch(`${url}/api/models/${slug}/pins`);
  return res.ok ? ((await res.json()) as PinsView).versions.flatMap((v) => v.pins) : [];
}

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) {
      const at = [...svc.pins.values()].map((x) => [x.pin.name, x.status, x.blocks, x.info]);
      throw new Error(`timed out waiting for ${what}; the service holds ${JSON.stringify(at)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('kill -9 with a POST /pins in flight: after the restart every pin finishes, none duplicated', async () => {
  const first = await startServerProcess({ chain: up, dataDir, env });
  servers.push(first);
  const p = await publishFiles({
    baseUrl: first.url,
    privateKey: DEV_ACCOUNTS[0].privateKey as Hex,
    deployment: up.deployment,
    model: 'crash-lm',
    parent: null,
    files: [
      { path: 'a.bin', bytes: crypto.randomBytes(1_500_000) },
      { path: 'b.bin', bytes: crypto.randomBytes(300_000) },
    ],
    metadata: {},
  });
  // the first POST /pins is answered only after 1.5 s: the server is killed while it waits
  svc.fault('slow', 1);
  await asTimelock(chain, 'registerModel', ['crash-lm', { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  const modelId = await modelIdOf(chain, 'crash-lm');
  await asTimelock(chain, 'publishVersion', [modelId, p.manifestDigest, 0]);
  await waitFor('the slow POST to arrive', () => svc.log.some((e) => e.fault === 'slow'));
  await first.kill9();
  // the service still creates that pin (the request had arrived): the server's row says 'sending'
  await waitFor('the service to record the in-flight pin', () => svc.created.size >= 1);
  const second = await startServerProcess({ chain: up, dataDir, env });
  servers.push(second);
  const done = await waitFor('all pins pinned after the restart', async () => {
    const list = await pins(second.url, 'crash-lm');
    return list.length === 3 && list.every((x) => x.state === 'pinned') && list;
  });
  expect(done.map((x) => x.name).sort()).toEqual(['modeldao:crash-lm@v1', 'modeldao:crash-lm@v1/a.bin', 'modeldao:crash-lm@v1/b.bin']);
  // exactly one live request per name at the service, all pinned
  const live = [...svc.pins.values()].filter((x) => x.pin.name?.startsWith('modeldao:crash-lm@v1'));
  expect(live.map((x) => x.pin.name).sort()).toEqual(done.map((x) => x.name).sort());
  expect(live.every((x) => x.status === 'pinned')).toBe(true);
  // a request is sent again only after the service reported the previous one failed (our node was
  // down while it fetched) and we deleted it: POSTs = names + DELETEs, nothing leaked or doubled
  const posts = [...svc.created.values()].reduce((a, b) => a + b, 0);
  const deletes = svc.log.filter((e) => e.method === 'DELETE' && e.status === 202).length;
  expect(posts).toBe(3 + deletes);
  expect(svc.violations).toEqual([]);
  await second.stop();
}, 240_000);
