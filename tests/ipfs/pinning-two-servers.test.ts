// Two app servers (lib/server/start.ts, each its own process, data dir, embedded IPFS node and peer
// id) on one PostgreSQL, the same pinning service configured on both (the spec-validating one of
// tests/helpers/pinning-service.ts, which fetches every block from the pin's `origins` over bitswap).
// They share the blob store (one directory, as a shared volume would be; production uses S3), so
// either node can provide any approved block. Both run the remote-pin worker over the same
// `remote_pin` rows: each CID must reach the service exactly once, and a kill -9 of the server doing
// the work must leave the rest to the other one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { openDatabase } from '../../db/client.ts';
import { publishFiles } from '../../lib/devchain/publish.ts';
import type { PinsView } from '../../lib/server/routes/pins.ts';
import { DEV_ACCOUNTS, freePort } from '../helpers/anvil.ts';
import { ACCESS, asTimelock, modelIdOf, type TestChain } from '../helpers/consumer.ts';
import { startPinningService, type TestPinningService } from '../helpers/pinning-service.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startServerProcess, startUploadChain, tempDir, type ServerProcess, type UploadChain } from '../helpers/server-process.ts';

const SLOW_MS = 5000; // > PINNING_LEASE_MS (2 s) by a margin the loaded CI machine keeps
let up: UploadChain;
let chain: TestChain;
let pg: TestPostgres;
let svc: TestPinningService;
let work: string;
const servers: { name: 'a' | 'b'; proc: ServerProcess; peerId: string }[] = [];

async function startApp(name: 'a' | 'b', env: Record<string, string>) {
  const dataDir = path.join(work, name);
  fs.mkdirSync(dataDir);
  fs.symlinkSync(path.join(work, 'store'), path.join(dataDir, 'store'));
  const proc = await startServerProcess({ chain: up, dataDir, env: { ...env, IPFS_LISTEN: `/ip4/127.0.0.1/tcp/${await freePort()}` } });
  const health = (await (await fetch(`${proc.url}/api/health`)).json()) as { ipfs: { peerId: string } };
  servers.push({ name, proc, peerId: health.ipfs.peerId });
}

/** Which server sent a pin request: its node's peer id is in the request's `origins`. */
function sender(origins: string[] | undefined): string {
  return servers.find((s) => origins?.some((o) => o.endsWith(`/p2p/${s.peerId}`)))?.name ?? '?';
}

async function pins(url: string, slug: string) {
  const res = await fetch(`${url}/api/models/${slug}/pins`);
  return res.ok ? ((await res.json()) as PinsView).versions.flatMap((v) => v.pins) : [];
}

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function approve(slug: string, files: { path: string; bytes: Buffer }[]) {
  const p = await publishFiles({
    baseUrl: servers[0]!.proc.url,
    privateKey: DEV_ACCOUNTS[0].privateKey as Hex,
    deployment: up.deployment,
    model: slug,
    parent: null,
    files,
    metadata: {},
  });
  await asTimelock(chain, 'registerModel', [slug, { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  await asTimelock(chain, 'publishVersion', [await modelIdOf(chain, slug), p.manifestDigest, 0]);
  return p;
}

/** The service's live requests of `slug`: exactly one per name, and what every POST /pins of it became. */
function atService(slug: string) {
  const prefix = `modeldao:${slug}@v1`;
  const live = [...svc.pins.values()].filter((x) => x.pin.name?.startsWith(prefix));
  const posts = [...svc.created.entries()].filter(([n]) => n.startsWith(prefix)).reduce((a, [, c]) => a + c, 0);
  const deletes = svc.log.filter((e) => e.method === 'DELETE' && e.status === 202 && e.name?.startsWith(prefix)).length;
  return { live, posts, deletes };
}

beforeAll(async () => {
  work = tempDir('modeldao-pin-two-');
  fs.mkdirSync(path.join(work, 'store'));
  [up, pg, svc] = await Promise.all([startUploadChain(), startPostgres(), startPinningService({ slowMs: SLOW_MS })]);
  chain = { ...up.anvil, deployment: up.deployment, deploymentFile: up.deploymentFile } as unknown as TestChain;
  const servicesFile = path.join(work, 'pinning.json');
  fs.writeFileSync(servicesFile, JSON.stringify([{ name: 'testpin', endpoint: svc.url, token: svc.token }]));
  const env = {
    DATABASE_URL: pg.url,
    ACCESS_TOKEN_SECRET: crypto.randomBytes(32).toString('hex'),
    INDEXER_POLL_MS: '100',
    PINNING_SERVICES_FILE: servicesFile,
    PINNING_TIMEOUT_MS: '10000',
    PINNING_RETRY_BASE_MS: '200',
    PINNING_POLL_BASE_MS: '100',
    PINNING_POLL_MAX_MS: '300',
    PINNING_LEASE_MS: '2000',
  };
  // the schema first (the servers would take turns migrating it), then both at once
  await (await openDatabase({ pgliteDir: '', DATABASE_URL: pg.url })).close();
  await Promise.all([startApp('a', env), startApp('b', env)]);
  servers.sort((x, y) => x.name.localeCompare(y.name));
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.proc.kill9().catch(() => {});
  await svc?.stop();
  await up?.stop();
  await pg?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

it('both servers work the same pin queue: every CID is sent to the service once and pinned', async () => {
  const slug = 'duo-lm';
  // 21 CIDs: more than one claim (16 rows) of a worker, so both servers find work
  const files = Array.from({ length: 19 }, (_, i) => ({ path: `shard-${String(i).padStart(2, '0')}.bin`, bytes: crypto.randomBytes(20_000 + i) }));
  files.push({ path: 'model.bin', bytes: crypto.randomBytes(1_500_000) });
  await approve(slug, files);
  const done = await waitFor('all 21 pinned (seen from both servers)', async () => {
    const [a, b] = await Promise.all(servers.map((s) => pins(s.proc.url, slug)));
    return a!.length === 21 && a!.every((x) => x.state === 'pinned') && b!.every((x) => x.state === 'pinned') && a;
  });
  const { live, posts, deletes } = atService(slug);
  expect(live.map((x) => x.pin.name).sort()).toEqual(done.map((x) => x.name).sort());
  expect(live.every((x) => x.status === 'pinned')).toBe(true);
  expect([...svc.created.entries()].filter(([n]) => n.includes(slug)).every(([, c]) => c === 1)).toBe(true);
  expect(posts).toBe(21);
  expect(deletes).toBe(0);
  // the request ids the servers recorded are the service's
  expect(new Set(done.map((x) => x.requestId))).toEqual(new Set(live.map((x) => x.requestid)));
  const by = live.map((x) => sender(x.pin.origins));
  console.log(`duo-lm: POST /pins by a: ${by.filter((s) => s === 'a').length}, by b: ${by.filter((s) => s === 'b').length}`);
  expect(by.every((s) => s === 'a' || s === 'b')).toBe(true);
  expect(svc.violations).toEqual([]);
}, 90_000);

it('a service that handles a POST /pins later than the lease: the sender keeps its claim, no second request', async () => {
  const slug = 'duo-late-lm';
  const before = svc.log.length;
  // handled only after SLOW_MS (> PINNING_LEASE_MS): the other server must not take the row and send it again
  svc.fault('late', 1);
  await approve(slug, [{ path: 'w.bin', bytes: crypto.randomBytes(100_000) }]);
  const done = await waitFor('both pinned', async () => {
    const list = await pins(servers[0]!.proc.url, slug);
    return list.length === 2 && list.every((x) => x.state === 'pinned') && list;
  });
  // count only once the late request has been handled (a second request, if any, came before it)
  const late = svc.log.slice(before).filter((e) => e.fault === 'late');
  expect(late).toHaveLength(1);
  await waitFor('the late POST to be handled', () => late[0]!.status !== 0);
  const { live, posts, deletes } = atService(slug);
  expect(posts).toBe(2);
  expect(deletes).toBe(0);
  expect(new Set(done.map((x) => x.requestId))).toEqual(new Set(live.map((x) => x.requestid)));
  expect(svc.violations).toEqual([]);
}, 60_000);

it('kill -9 of the server with a POST /pins in flight: the other one finishes every pin from its own node (its requests too), none duplicated', async () => {
  const slug = 'duo-crash-lm';
  // the next POST /pins is handled at once and answered only after SLOW_MS: its sender is killed while
  // it waits; the service fetches nothing until then (hold), so it must get the blocks from the survivor
  svc.fault('slow', 1);
  svc.hold(true);
  const slowBefore = svc.log.length;
  await approve(slug, [
    { path: 'a.bin', bytes: crypto.randomBytes(1_200_000) },
    { path: 'b.bin', bytes: crypto.randomBytes(300_000) },
  ]);
  const slow = await waitFor('the slow POST /pins', () => svc.log.slice(slowBefore).find((e) => e.fault === 'slow'));
  const inFlight = await waitFor('the service to record it', () => [...svc.pins.values()].find((x) => x.pin.name === slow.name));
  const victim = servers.find((s) => s.name === sender(inFlight.pin.origins))!;
  const survivor = servers.find((s) => s !== victim)!;
  await victim.proc.kill9();
  svc.hold(false);
  const done = await waitFor(`${survivor.name} to finish every pin after ${victim.name} was killed`, async () => {
    const list = await pins(survivor.proc.url, slug);
    return list.length === 3 && list.every((x) => x.state === 'pinned') && list;
  });
  expect(done.map((x) => x.name).sort()).toEqual([`modeldao:${slug}@v1`, `modeldao:${slug}@v1/a.bin`, `modeldao:${slug}@v1/b.bin`]);
  const { live, posts, deletes } = atService(slug);
  // exactly one live request per CID at the service, all pinned, the ones the survivor recorded
  expect(live.map((x) => x.pin.name).sort()).toEqual(done.map((x) => x.name).sort());
  expect(live.every((x) => x.status === 'pinned')).toBe(true);
  expect(new Set(done.map((x) => x.requestId))).toEqual(new Set(live.map((x) => x.requestid)));
  // a request is sent again only after the service reported the previous one failed and it was
  // deleted: nothing leaked, nothing doubled
  expect(posts).toBe(3 + deletes);
  // the service fetched nothing before the kill (hold): every block came from the survivor's node,
  // which dialled the service's delegates while polling (the victim's requests included)
  expect(live.every((x) => x.blocks > 0)).toBe(true);
  expect(svc.connectedPeers()).toContain(survivor.peerId);
  expect(svc.connectedPeers()).not.toContain(victim.peerId);
  console.log(`duo-crash-lm: killed ${victim.name}; POST /pins ${posts}, DELETE ${deletes}; final senders ${live.map((x) => sender(x.pin.origins)).join(',')}`);
  expect(svc.violations).toEqual([]);
}, 90_000);
