// Remote pinning on the real server (lib/server/main.ts, plain API, in-process indexer, PGlite,
// embedded IPFS node) against a pinning service run by the test (tests/helpers/pinning-service.ts)
// that validates every request and response against the vendored OpenAPI document and reports
// `pinned` only after fetching every block from our node over bitswap. Versions are published and
// revoked on anvil (impersonated timelock / guardian) and reach the pins through the real indexer.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { parseEnv, loadPinningServices, EnvError } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { repoRoot } from '../../lib/repo-root.ts';
import { publishFiles } from '../../lib/devchain/publish.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import type { PinsView } from '../../lib/server/routes/pins.ts';
import { advanceTime, DEV_ACCOUNTS, freePort } from '../helpers/anvil.ts';
import { ACCESS, asGuardian, asTimelock, modelIdOf, startTestChain, type TestChain } from '../helpers/consumer.ts';
import { startPinningService, type TestPinningService } from '../helpers/pinning-service.ts';

const MiB = 1024 * 1024;
let chain: TestChain;
let server: RunningServer;
let svc: TestPinningService;
let dataDir: string;
const serverLog: string[] = [];
const MAX_FAILURES = 4;
const RETRY_BASE_MS = 200;

async function register(slug: string, kind: number = ACCESS.Public): Promise<bigint> {
  await asTimelock(chain, 'registerModel', [slug, { kind, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  return modelIdOf(chain, slug);
}

async function publish(slug: string, modelId: bigint, files: { path: string; bytes: Buffer }[]) {
  const p = await publishFiles({
    baseUrl: server.url,
    privateKey: DEV_ACCOUNTS[0].privateKey as Hex,
    deployment: chain.deployment,
    model: slug,
    parent: null,
    files,
    metadata: {},
  });
  await asTimelock(chain, 'publishVersion', [modelId, p.manifestDigest, 0]);
  await server.waitForIndex();
  return p;
}

async function pinsOf(slug: string): Promise<PinsView> {
  const res = await fetch(`${server.url}/api/models/${slug}/pins`);
  expect(res.status).toBe(200);
  return (await res.json()) as PinsView;
}

/** Polls GET /api/models/{slug}/pins until `done` holds for version `v` (event-driven: the API is the observable). */
async function until(slug: string, v: number, done: (pins: PinsView['versions'][number]['pins']) => boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await pinsOf(slug);
    const pins = view.versions.find((x) => x.version === v)?.pins ?? [];
    if (pins.length > 0 && done(pins)) return pins;
    if (Date.now() > deadline) throw new Error(`${slug} v${v}: condition not reached; pins now ${JSON.stringify(pins.map((p) => [p.name, p.state, p.error]))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-pinning-'));
  chain = await startTestChain();
  await new Governance(chain.rpcUrl, chain.deployment).delegate(DEV_ACCOUNTS[0].privateKey as Hex);
  await advanceTime(chain.rpcUrl, 1);
  svc = await startPinningService({ slowMs: 2500 });
  const servicesFile = path.join(dataDir, 'pinning.json');
  fs.writeFileSync(servicesFile, JSON.stringify([{ name: 'testpin', endpoint: `${svc.url}/`, token: svc.token }]));
  const env = parseEnv({
    ANVIL_PORT: String(chain.port),
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    INDEXER_POLL_MS: '100',
    IPFS_LISTEN: '/ip4/127.0.0.1/tcp/0',
    PINNING_SERVICES_FILE: servicesFile,
    PINNING_TIMEOUT_MS: '1000',
    PINNING_RETRY_BASE_MS: String(RETRY_BASE_MS),
    PINNING_RETRY_MAX_MS: '2000',
    PINNING_MAX_FAILURES: String(MAX_FAILURES),
    PINNING_POLL_BASE_MS: '100',
    PINNING_POLL_MAX_MS: '500',
  });
  server = await startServer({ env, withNext: false, log: (m) => serverLog.push(m) });
}, 240_000);

afterAll(async () => {
  await server?.close();
  await svc?.stop();
  await chain?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('PINNING_SERVICES_FILE', () => {
  it('is checked at start: a bad entry is named by index and field, and the token never appears in the error', () => {
    const f = path.join(os.tmpdir(), `pinning-bad-${process.pid}.json`);
    fs.writeFileSync(f, JSON.stringify([{ name: 'a b', endpoint: 'ftp://x', token: 'SECRET-TOKEN-123' }]));
    let message = '';
    try {
      loadPinningServices(f);
    } catch (err) {
      expect(err).toBeInstanceOf(EnvError);
      message = (err as Error).message;
    }
    fs.rmSync(f);
    expect(message).toMatch(/\[0\.name\]/);
    expect(message).toMatch(/\[0\.endpoint\]/);
    expect(message).not.toContain('SECRET-TOKEN-123');
    expect(() => loadPinningServices('/nonexistent/pinning.json')).toThrow(/PINNING_SERVICES_FILE.*ENOENT/);
  });
});

describe('remote pinning of approved versions', () => {
  let modelId: bigint;
  let weights: Buffer;
  it('approving a version pins its manifest and every file on the service, which fetched all blocks from our node over bitswap', async () => {
    modelId = await register('pin-lm');
    weights = crypto.randomBytes(3 * MiB + 77);
    const p = await publish('pin-lm', modelId, [
      { path: 'model.bin', bytes: weights },
      { path: 'config.json', bytes: Buffer.from('{"layers":2}') },
    ]);
    const pins = await until('pin-lm', 1, (ps) => ps.every((x) => x.state === 'pinned'));
    expect(pins.map((x) => x.name).sort()).toEqual(['modeldao:pin-lm@v1', 'modeldao:pin-lm@v1/config.json', 'modeldao:pin-lm@v1/model.bin']);
    expect(pins.every((x) => x.service === 'testpin' && x.want === 'pinned' && x.error === null)).toBe(true);
    const model = p.files.find((f) => f.path === 'model.bin')!;
    const stored = [...svc.pins.values()].find((x) => x.pin.name === 'modeldao:pin-lm@v1/model.bin')!;
    expect(stored.status).toBe('pinned');
    expect(stored.pin.cid).toBe(model.cid);
    // 4 leaves + the root node, each fetched over bitswap and checked against its CID
    expect(stored.blocks).toBe(5);
    const health = (await (await fetch(`${server.url}/api/health`)).json()) as { ipfs: { announce: string[] } };
    expect(stored.pin.origins).toEqual(health.ipfs.announce);
    expect(stored.pin.meta).toEqual({
      chainId: String(chain.deployment.chainId),
      registry: chain.deployment.contracts.ModelRegistry,
      modelId: String(modelId),
      version: '1',
      sha256: model.sha256,
    });
    expect([...svc.created.values()].every((n) => n === 1)).toBe(true);
    expect(svc.violations).toEqual([]);
  }, 180_000);

  it("a service that cannot dial our origins still gets every block: our node dials the status's delegates (provider hints)", async () => {
    await svc.refuseOrigins(true);
    try {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { ipfs: { peerId: string } };
      expect(svc.connectedPeers()).not.toContain(health.ipfs.peerId);
      const id = await register('nat-lm');
      await publish('nat-lm', id, [{ path: 'w.bin', bytes: crypto.randomBytes(MiB + 5) }]);
      const pins = await until('nat-lm', 1, (ps) => ps.every((x) => x.state === 'pinned'), 60_000);
      expect(pins).toHaveLength(2);
      const stored = [...svc.pins.values()].find((x) => x.pin.name === 'modeldao:nat-lm@v1/w.bin')!;
      // 2 leaves (1 MiB chunks) + the root, all over the connection our node opened
      expect(stored.blocks).toBe(3);
      expect(svc.connectedPeers()).toContain(health.ipfs.peerId);
      expect(serverLog.some((m) => m.includes('connected to pinning delegate'))).toBe(true);
      expect(svc.violations).toEqual([]);
    } finally {
      await svc.refuseOrigins(false);
    }
  }, 120_000);

  it('`modeldao status <slug> --gateway` prints where the version is pinned', async () => {
    const cli = path.join(repoRoot, 'lib', 'cli', 'modeldao.mjs');
    const args = [cli, 'status', 'pin-lm', '--rpc', chain.rpcUrl, '--deployment', chain.deploymentFile, '--gateway', server.url];
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/v1 \* active .*\n\s+manifest CID \S+\n\s+pinned on testpin: 3\/3\n/);
  }, 60_000);

  it('revoking the version unpins every CID on the service', async () => {
    await asGuardian(chain, 'revokeVersion', [modelId, 1]);
    await server.waitForIndex();
    const pins = await until('pin-lm', 1, (ps) => ps.every((x) => x.state === 'unpinned'));
    expect(pins.every((x) => x.want === 'unpinned')).toBe(true);
    expect([...svc.pins.values()].filter((x) => x.pin.name?.startsWith('modeldao:pin-lm@v1'))).toEqual([]);
    expect(svc.log.filter((e) => e.method === 'DELETE' && e.status === 202)).toHaveLength(3);
    expect(svc.violations).toEqual([]);
  }, 120_000);

  it('a gated model is never sent to a pinning service', async () => {
    const id = await register('members-pin-lm', ACCESS.Allowlist);
    await publish('members-pin-lm', id, [{ path: 'w.bin', bytes: crypto.randomBytes(1000) }]);
    expect((await pinsOf('members-pin-lm')).versions).toEqual([]);
    expect([...svc.pins.values()].some((x) => x.pin.name?.includes('members-pin-lm'))).toBe(false);
  }, 60_000);

  for (const fault of ['down', '401', '409', '500', 'slow'] as const) {
    it(`service ${fault} for a while: retried with backoff, then pinned, no duplicate request`, async () => {
      const slug = `retry-${fault}-lm`;
      const id = await register(slug);
      const before = svc.log.length;
      svc.fault(fault, MAX_FAILURES - 2);
      await publish(slug, id, [{ path: 'w.bin', bytes: crypto.randomBytes(200_000) }]);
      const pins = await until(slug, 1, (ps) => ps.every((x) => x.state === 'pinned'));
      expect(pins).toHaveLength(2);
      const mine = svc.log.slice(before);
      expect(mine.filter((e) => e.fault !== undefined).length).toBe(MAX_FAILURES - 2);
      for (const name of [`modeldao:${slug}@v1`, `modeldao:${slug}@v1/w.bin`]) expect(svc.created.get(name)).toBe(1);
      expect(svc.violations).toEqual([]);
    }, 120_000);
  }

  it('a service that keeps answering 409 (quota): `failed` with the reason after the retry limit, after backing off', async () => {
    const slug = 'quota-lm';
    const id = await register(slug);
    const before = svc.log.length;
    svc.fault('409', 1000);
    const t0 = Date.now();
    await publish(slug, id, [{ path: 'w.bin', bytes: crypto.randomBytes(1000) }]);
    const pins = await until(slug, 1, (ps) => ps.every((x) => x.state === 'failed'));
    const elapsed = Date.now() - t0;
    svc.fault('409', 0);
    for (const p of pins) {
      expect(p.error).toMatch(new RegExp(`^${MAX_FAILURES} attempts failed; last: HTTP 409 INSUFFICIENT_FUNDS`));
    }
    // MAX_FAILURES attempts, separated by at least 0.75 × (base, 2 base, 4 base): backoff, not a tight loop
    expect(elapsed).toBeGreaterThanOrEqual(0.75 * RETRY_BASE_MS * (1 + 2 + 4));
    // two pins (manifest, file), MAX_FAILURES calls each, then no more
    expect(svc.log.slice(before).filter((e) => e.fault !== undefined).length).toBe(2 * MAX_FAILURES);
  }, 120_000);

  it('the pinning token never reaches the logs, the API or the health answer', async () => {
    const outputs = [serverLog.join('\n'), JSON.stringify(await pinsOf('pin-lm')), await (await fetch(`${server.url}/api/health`)).text()];
    for (const o of outputs) expect(o).not.toContain(svc.token);
    expect(serverLog.join('\n')).toMatch(/remote pinning on testpin/);
  });

  it('GET /api/models/{slug}/pins: unknown model → 404 with a JSON error', async () => {
    const res = await fetch(`${server.url}/api/models/no-such-lm/pins`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_model');
  });
});
