// The Hub-compatible endpoints driven by the REAL clients (huggingface_hub 2.x, transformers,
// safetensors in a cached venv, see tests/helpers/python.ts) against one stack on loopback: anvil with
// the real deploy, the real server (/hf routes, indexer, PGlite), the demo DAO seeded through
// governance with its v2 proposal then executed, `modeldao hf-endpoint` in front of the server and
// in front of a byte-flipping gateway.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAddress, type Hex } from 'viem';
import { modelRegistryAbi } from '../../lib/contracts/generated.ts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { seedDemoDao, type SeedResult } from '../../lib/devchain/seed.ts';
import { Governance, Support } from '../../lib/devchain/governance.ts';
import { publishFiles } from '../../lib/devchain/publish.ts';
import { demoModelV1, demoModelV2 } from '../../lib/devchain/demo-weights.ts';
import { signAccessToken } from '../../lib/access/token.ts';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/hf/local-endpoint.ts';
import { VerifiedDownload } from '../../lib/sdk/stream.ts';
import { chainClient, DEV_ACCOUNTS, freePort, startTestChain, type TestChain } from '../helpers/anvil.ts';
import { hfPython, runHfClient, type PyResult } from '../helpers/python.ts';
import { ACCESS, asGuardian, asTimelock, modelIdOf } from '../helpers/consumer.ts';

const SECRET = 'hf-endpoint-test-secret-0123456789abcdef';
const [maintainer, alice, bob, carol] = DEV_ACCOUNTS;
const member = DEV_ACCOUNTS[3];
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

let chain: TestChain;
let server: RunningServer;
let seed: SeedResult;
let python: string;
let local: LocalEndpoint;
let flipper: http.Server;
let lyingEndpoint: ChildProcess | undefined;
let bigBytes: Buffer;
const dirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `modeldao-hf-${name}-`));
  dirs.push(d);
  return d;
};

const sha256 = (b: Buffer | Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

/** Per-tensor sha256 of the raw little-endian data, as numpy's tobytes() gives it. */
function tensorHashes(safetensors: Buffer): Record<string, { shape: number[]; sha256: string }> {
  const n = Number(safetensors.readBigUInt64LE(0));
  const header = JSON.parse(safetensors.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
  const data = safetensors.subarray(8 + n);
  const out: Record<string, { shape: number[]; sha256: string }> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out[name] = { shape: t.shape, sha256: sha256(data.subarray(t.data_offsets[0], t.data_offsets[1])) };
  }
  return out;
}

/** What the chain approved for tiny-lm version n: digest from the registry, manifest checked against it. */
async function approved(slug: string, version: number, token?: string) {
  const registry = chain.deployment.contracts.ModelRegistry;
  const modelId = await modelIdOf(chain, slug);
  const v = (await chainClient(chain).readContract({ address: registry, abi: modelRegistryAbi, functionName: 'getVersion', args: [modelId, version] })) as {
    manifestDigest: Hex;
  };
  const res = await fetch(`${server.url}/api/manifests/${v.manifestDigest}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const manifestBytes = Buffer.from(await res.arrayBuffer());
  expect(res.status, manifestBytes.toString('utf8').slice(0, 300)).toBe(200);
  expect(`0x${sha256(manifestBytes)}`).toBe(v.manifestDigest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { files: { path: string; size: number; sha256: string }[] };
  return { digest: v.manifestDigest, commit: v.manifestDigest.slice(2, 42), files: manifest.files };
}

/** A gateway in front of the server that flips one byte in the middle of every blob it passes on. */
const flippedBlobRequests: string[] = [];
async function startFlippingGateway(upstream: string): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    if (/^\/api\/blobs\//.test(req.url ?? '')) flippedBlobRequests.push(`${req.method} ${req.url}`);
    const up = http.request(`${upstream}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const body = Buffer.concat(chunks);
        if (/^\/api\/blobs\//.test(req.url ?? '') && body.length > 0) body[body.length >> 1]! ^= 0xff;
        res.writeHead(r.statusCode ?? 502, r.headers);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

/**
 * A gateway in front of the server that passes blob bodies on as they arrive (no buffering) but flips
 * the byte at `offset` of each: the bytes before it are the approved ones.
 */
async function startLateFlippingGateway(upstream: string, offset: number): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    const up = http.request(`${upstream}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (!/^\/api\/blobs\//.test(req.url ?? '')) return r.pipe(res);
      let at = 0;
      r.on('data', (c: Buffer) => {
        if (offset >= at && offset < at + c.length) c[offset - at]! ^= 0xff;
        at += c.length;
        res.write(c);
      });
      r.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

/** GET with node:http: the body bytes that arrived, and whether the body completed. */
function getBody(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete });
        res.on('end', done);
        res.on('error', done);
        res.on('aborted', done);
      })
      .on('error', reject);
  });
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'lib/cli/modeldao.mjs'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const chainArgs = () => ['--rpc', chain.rpcUrl, '--deployment', chain.deploymentFile];

beforeAll(async () => {
  const venv = hfPython();
  chain = await startTestChain();
  const dataDir = tmp('server');
  const env = parseEnv({
    ANVIL_PORT: String(chain.port),
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    ACCESS_TOKEN_SECRET: SECRET,
  });
  server = await startServer({ env, withNext: false, log: () => {} });
  seed = await seedDemoDao({ rpcUrl: chain.rpcUrl, deployment: chain.deployment, baseUrl: server.url });

  // The demo's v2 proposal goes through: two more votes, queue, timelock delay, execute.
  const gov = new Governance(chain.rpcUrl, chain.deployment);
  const p = seed.openProposal;
  await gov.vote(bob.privateKey, p.proposalId, Support.For);
  await gov.vote(carol.privateKey, p.proposalId, Support.For);
  await gov.waitForVotingEnd(p.proposalId);
  await gov.queue(maintainer.privateKey, p.actions, p.description);
  await gov.waitForEta(p.proposalId);
  await gov.execute(maintainer.privateKey, p.actions, p.description);

  // A gated model (allowlist: only `member`) and a model whose version 1 the guardian revoked.
  const upload = (model: string, files: { path: string; bytes: Buffer }[]) =>
    publishFiles({
      baseUrl: server.url,
      privateKey: maintainer.privateKey,
      deployment: chain.deployment,
      model,
      parent: null,
      files,
      metadata: { license: 'mit' },
    });
  const gated = await upload('members-lm', [{ path: 'weights.bin', bytes: crypto.randomBytes(200_000) }]);
  await asTimelock(chain, 'registerModel', ['members-lm', { kind: ACCESS.Allowlist, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  const gatedId = await modelIdOf(chain, 'members-lm');
  await asTimelock(chain, 'publishVersion', [gatedId, gated.manifestDigest, 0]);
  await asTimelock(chain, 'setAllowlist', [gatedId, [member.address], true]);
  const r1 = await upload('recalled-lm', [{ path: 'w.bin', bytes: crypto.randomBytes(1000) }]);
  const r2 = await upload('recalled-lm', [{ path: 'w.bin', bytes: crypto.randomBytes(1000) }]);
  await asTimelock(chain, 'registerModel', ['recalled-lm', { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  const recalledId = await modelIdOf(chain, 'recalled-lm');
  await asTimelock(chain, 'publishVersion', [recalledId, r1.manifestDigest, 0]);
  await asTimelock(chain, 'publishVersion', [recalledId, r2.manifestDigest, 1]);
  await asGuardian(chain, 'revokeVersion', [recalledId, 1]);
  // A public model whose file spans several 1 MiB leaves (the local endpoint streams it leaf by leaf).
  bigBytes = crypto.randomBytes(5 * 1024 * 1024 + 12_345);
  const big = await upload('big-lm', [{ path: 'w.bin', bytes: bigBytes }]);
  await asTimelock(chain, 'registerModel', ['big-lm', { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  await asTimelock(chain, 'publishVersion', [await modelIdOf(chain, 'big-lm'), big.manifestDigest, 0]);
  await server.waitForIndex();

  local = await startLocalEndpoint({ rpcUrl: chain.rpcUrl, deploymentFile: chain.deploymentFile, gateways: [server.url], cacheDir: tmp('local-cache') });
  flipper = await startFlippingGateway(server.url);
  python = await venv;
}, 600_000);

afterAll(async () => {
  lyingEndpoint?.kill('SIGTERM');
  await local?.close();
  await new Promise<void>((r) => (flipper ? flipper.close(() => r()) : r()));
  flipper?.closeAllConnections();
  await server?.close();
  await chain?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const ok = (r: PyResult): PyResult => {
  if (!r.ok) throw new Error(`client failed: ${r.error}: ${r.message}\n${r.trace}`);
  return r;
};

type Snapshot = { commit: string; files: Record<string, { sha256: string; size: number; tensors?: Record<string, { shape: number[]; sha256: string }> }> };

async function expectApprovedSnapshot(r: PyResult, version: number) {
  const a = await approved('tiny-lm', version);
  const s = ok(r) as unknown as Snapshot;
  expect(s.commit).toBe(a.commit);
  expect(Object.keys(s.files).sort()).toEqual(a.files.map((f) => f.path).sort());
  for (const f of a.files) expect(s.files[f.path]).toMatchObject({ sha256: f.sha256, size: f.size });
  // safetensors.safe_open (numpy) reads every tensor; its values are the ones uploaded.
  const uploaded = (version === 1 ? demoModelV1() : demoModelV2()).files.find((f) => f.path === 'model.safetensors')!.bytes;
  const expected = tensorHashes(uploaded);
  const got = s.files['model.safetensors']!.tensors!;
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, t] of Object.entries(expected)) expect(got[name]).toMatchObject({ shape: t.shape, sha256: t.sha256 });
}

async function expectInfo(r: PyResult, version: number) {
  const a = await approved('tiny-lm', version);
  const info = ok(r) as unknown as {
    id: string;
    sha: string;
    gated: unknown;
    private: boolean;
    license: string;
    last_modified: string;
    siblings: { rfilename: string; size: number; lfs_sha256: string }[];
  };
  expect(info).toMatchObject({ id: 'tiny-lm', sha: a.commit, gated: false, private: false, license: 'apache-2.0' });
  expect(info.last_modified).toMatch(/^\d{4}-/);
  expect(info.siblings.map((x) => [x.rfilename, x.size, x.lfs_sha256]).sort()).toEqual(a.files.map((f) => [f.path, f.size, f.sha256]).sort());
}

// The same story through the server (/hf) and through the local verifying endpoint.
describe.each([
  ['the server endpoint', () => `${server.url}/hf`],
  ['the local verifying endpoint (modeldao hf-endpoint)', () => local.url],
])('huggingface_hub and transformers through %s', (_name, endpoint) => {
  it('HF-001: snapshot_download and hf_hub_download of main, v1, v2 give the approved bytes; model_info shows sha and siblings; AutoConfig and AutoTokenizer load tiny-lm; a second snapshot_download is served from the client cache', async () => {
    const home = tmp('home');
    const { huggingface_hub, results } = await runHfClient(
      python,
      [
        { op: 'info', repo: 'tiny-lm' },
        { op: 'info', repo: 'tiny-lm', revision: 'v1' },
        { op: 'snapshot', repo: 'tiny-lm' },
        { op: 'snapshot', repo: 'tiny-lm', revision: 'v1' },
        { op: 'snapshot', repo: 'tiny-lm', revision: 'v2' },
        { op: 'file', repo: 'tiny-lm', filename: 'config.json', revision: 'v1' },
        { op: 'tree', repo: 'tiny-lm', revision: 'v2' },
        { op: 'autoconfig', repo: 'tiny-lm' },
        { op: 'autotokenizer', repo: 'tiny-lm', text: 'The weights are approved on chain.' },
        { op: 'snapshot', repo: 'tiny-lm' },
      ],
      { HF_ENDPOINT: endpoint(), HF_HOME: home },
    );
    expect(huggingface_hub).toMatch(/^2\./);
    const [infoMain, infoV1, snapMain, snapV1, snapV2, fileV1, tree, config, tokenizer, again] = results;
    await expectInfo(infoMain, 2); // main = the current version, v2 since its proposal was executed
    await expectInfo(infoV1, 1);
    await expectApprovedSnapshot(snapMain, 2);
    await expectApprovedSnapshot(snapV1, 1);
    await expectApprovedSnapshot(snapV2, 2);
    expect((snapMain as unknown as Snapshot).commit).toBe((snapV2 as unknown as Snapshot).commit);
    const v1 = await approved('tiny-lm', 1);
    expect(ok(fileV1).sha256).toBe(v1.files.find((f) => f.path === 'config.json')!.sha256);
    expect(ok(tree).paths).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(ok(config)).toMatchObject({ class: 'LlamaConfig', model_type: 'llama', vocab_size: 640, tie_word_embeddings: false });
    expect(ok(tokenizer).decoded).toBe('The weights are approved on chain.');
    expect((tokenizer.ids as number[]).length).toBeGreaterThan(3);
    // Second run: one model_info call for the commit, then everything from the client's own cache.
    expect((ok(again) as unknown as Snapshot).commit).toBe((snapMain as unknown as Snapshot).commit);
    expect(again.requests.filter((r) => /\/resolve\//.test(r))).toEqual([]);
    expect(again.requests.length).toBe(1);
  }, 240_000);
});

describe('errors the client understands', () => {
  it('HF-002: gated model: no token → GatedRepoError; a token from `modeldao access` (HF_TOKEN) → the files; an expired token → GatedRepoError; unknown model → RepositoryNotFoundError; revoked version → RevisionNotFoundError', async () => {
    const base = `${server.url}/hf`;
    const noToken = await runHfClient(
      python,
      [
        { op: 'snapshot', repo: 'members-lm' },
        { op: 'file', repo: 'members-lm', filename: 'weights.bin' },
        { op: 'snapshot', repo: 'no-such-model' },
        { op: 'info', repo: 'no-such-model' },
        { op: 'snapshot', repo: 'recalled-lm', revision: 'v1' },
        { op: 'file', repo: 'recalled-lm', filename: 'w.bin', revision: 'v1' },
        { op: 'snapshot', repo: 'recalled-lm' },
        { op: 'file', repo: 'tiny-lm', filename: 'no-such-file.json' },
      ],
      { HF_ENDPOINT: base, HF_HOME: tmp('home') },
    );
    const [gatedSnap, gatedFile, unknownSnap, unknownInfo, revokedSnap, revokedFile, recalledMain, missingFile] = noToken.results;
    expect(gatedSnap).toMatchObject({ ok: false, error: 'GatedRepoError' });
    expect(gatedSnap.message).toContain('modeldao access members-lm');
    expect(gatedFile).toMatchObject({ ok: false, error: 'GatedRepoError' });
    expect(unknownSnap).toMatchObject({ ok: false, error: 'RepositoryNotFoundError' });
    expect(unknownInfo).toMatchObject({ ok: false, error: 'RepositoryNotFoundError' });
    expect(revokedSnap).toMatchObject({ ok: false, error: 'RevisionNotFoundError' });
    expect(revokedSnap.message).toContain('revoked');
    expect(revokedFile).toMatchObject({ ok: false, error: 'RevisionNotFoundError' });
    expect(ok(recalledMain).commit).toBe((await approved('recalled-lm', 2)).commit);
    expect(missingFile.mro).toContain('EntryNotFoundError');

    // `modeldao access` signs the EIP-712 AccessRequest with MODELDAO_PRIVATE_KEY and prints a token.
    const got = await cli(['access', 'members-lm', '--gateway', server.url, ...chainArgs()], { MODELDAO_PRIVATE_KEY: member.privateKey });
    expect(got.stderr).toContain('valid until');
    expect(got.code).toBe(0);
    const token = got.stdout.trim();
    const outsider = await cli(['access', 'members-lm', '--gateway', server.url, ...chainArgs()], { MODELDAO_PRIVATE_KEY: alice.privateKey });
    expect(outsider.code).toBe(6);
    expect(outsider.stderr).toMatch(/may not access/);

    const withToken = await runHfClient(
      python,
      [
        { op: 'snapshot', repo: 'members-lm' },
        { op: 'info', repo: 'members-lm' },
      ],
      { HF_ENDPOINT: base, HF_HOME: tmp('home'), HF_TOKEN: token },
    );
    const a = await approved('members-lm', 1, token);
    const snap = ok(withToken.results[0]) as unknown as Snapshot;
    expect(snap.files['weights.bin']!.sha256).toBe(a.files[0]!.sha256);
    expect(ok(withToken.results[1])).toMatchObject({ gated: 'manual', sha: a.commit });

    const now = Math.floor(Date.now() / 1000);
    const expired = signAccessToken(Buffer.from(SECRET), {
      account: getAddress(member.address),
      modelId: await modelIdOf(chain, 'members-lm'),
      chainId: chain.deployment.chainId,
      registry: chain.deployment.contracts.ModelRegistry,
      issuedAt: now - 7200,
      expiresAt: now - 3600,
    });
    const late = await runHfClient(
      python,
      [
        { op: 'snapshot', repo: 'members-lm' },
        { op: 'file', repo: 'members-lm', filename: 'weights.bin' },
      ],
      { HF_ENDPOINT: base, HF_HOME: tmp('home'), HF_TOKEN: expired },
    );
    for (const r of late.results) {
      expect(r).toMatchObject({ ok: false, error: 'GatedRepoError' });
      expect(r.message).toContain('expired');
    }
  }, 240_000);

  it('HF-003: `modeldao hf-endpoint` in front of a byte-flipping gateway: the client raises, nothing is written under the final snapshot path, no wrong blob enters its cache', async () => {
    const proxy = `http://127.0.0.1:${(flipper.address() as AddressInfo).port}`;
    lyingEndpoint = spawn(
      process.execPath,
      [path.join(repoRoot, 'lib/cli/modeldao.mjs'), 'hf-endpoint', '--gateway', proxy, '--cache', tmp('lying-cache'), ...chainArgs()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    lyingEndpoint.stderr!.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      lyingEndpoint!.stdout!.on('data', (d) => {
        out += d;
        const m = /HF_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      lyingEndpoint!.on('close', (code) => reject(new Error(`hf-endpoint exited ${code}: ${stderr}`)));
    });
    const home = tmp('home');
    const commit = (await approved('tiny-lm', 2)).commit;
    const snapshotDir = path.join(home, 'hub', 'models--tiny-lm', 'snapshots', commit);
    const { results } = await runHfClient(
      python,
      [
        { op: 'snapshot', repo: 'tiny-lm' },
        { op: 'file', repo: 'tiny-lm', filename: 'model.safetensors', revision: 'v1' },
        { op: 'exists', path: snapshotDir },
      ],
      { HF_ENDPOINT: url, HF_HOME: home },
    );
    const [snap, file, exists] = results;
    expect(snap.ok).toBe(false);
    // Files stream as their leaves verify: the refusal reaches the client at its HEAD (then as the cause
    // of its "cannot find the requested files" error) or at its GET (a broken body, then a 502).
    expect(`${snap.message} ${snap.cause_message}`).toMatch(/wrong bytes|does not match|refused/);
    // hf_hub_download: the HEAD was refused; the client says so with our message as the cause.
    expect(file.ok).toBe(false);
    expect(`${file.message} ${file.cause_message}`).toMatch(/wrong bytes|refused/);
    expect(ok(exists).entries).toEqual([]);
    // The client retries a 502 five times; the endpoint does not go back to the lying gateway for each.
    const files = new Set([...(await approved('tiny-lm', 1)).files, ...(await approved('tiny-lm', 2)).files].map((f) => f.sha256));
    expect(flippedBlobRequests.length).toBeGreaterThan(0);
    expect(flippedBlobRequests.length).toBeLessThanOrEqual(files.size * 2);
    // Whatever the client did keep in its cache carries the right content for its name.
    const blobs = path.join(home, 'hub', 'models--tiny-lm', 'blobs');
    for (const name of fs.existsSync(blobs) ? fs.readdirSync(blobs) : []) {
      if (name.endsWith('.incomplete') || name.endsWith('.lock')) continue;
      expect(sha256(fs.readFileSync(path.join(blobs, name)))).toBe(name);
    }
    lyingEndpoint.kill('SIGTERM');
    await new Promise((r) => lyingEndpoint!.once('close', r));
    lyingEndpoint = undefined;
  }, 240_000);

  it('HF-004: `hf download tiny-lm` (the hf CLI) against the server endpoint', async () => {
    const home = tmp('home');
    const hf = path.join(path.dirname(python), 'hf');
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(hf, ['download', 'tiny-lm', '--quiet'], {
        env: { PATH: process.env.PATH ?? '', HF_ENDPOINT: `${server.url}/hf`, HF_HOME: home, HF_HUB_DISABLE_TELEMETRY: '1', NODE_ENV: 'test' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    const dir = out.stdout.trim().split('\n').pop()!;
    const a = await approved('tiny-lm', 2);
    expect(path.basename(dir)).toBe(a.commit);
    for (const f of a.files) expect(sha256(fs.readFileSync(path.join(dir, f.path)))).toBe(f.sha256);
  }, 120_000);

  it('HF-005: resolve headers and Range on the wire (server and local endpoint): X-Repo-Commit, ETag = X-Linked-Etag = sha256, X-Linked-Size, Content-Length, 206/416; paths-info; tree of a missing folder; routes outside the API', async () => {
    const a = await approved('tiny-lm', 2);
    const weights = a.files.find((f) => f.path === 'model.safetensors')!;
    for (const base of [`${server.url}/hf`, local.url]) {
      const head = await fetch(`${base}/tiny-lm/resolve/main/model.safetensors`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('x-repo-commit')).toBe(a.commit);
      expect(head.headers.get('etag')).toBe(`"${weights.sha256}"`);
      expect(head.headers.get('x-linked-etag')).toBe(`"${weights.sha256}"`);
      expect(head.headers.get('x-linked-size')).toBe(String(weights.size));
      expect(head.headers.get('content-length')).toBe(String(weights.size));
      const whole = Buffer.from(await (await fetch(`${base}/tiny-lm/resolve/${a.commit}/model.safetensors`)).arrayBuffer());
      expect(sha256(whole)).toBe(weights.sha256);
      const part = await fetch(`${base}/tiny-lm/resolve/v2/model.safetensors`, { headers: { range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-199/${weights.size}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(100, 200))).toBe(true);
      const beyond = await fetch(`${base}/tiny-lm/resolve/v2/model.safetensors`, { headers: { range: `bytes=${weights.size}-` } });
      expect(beyond.status).toBe(416);
      const info = await fetch(`${base}/api/models/tiny-lm/paths-info/v2`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'paths=config.json&paths=nope.bin',
      });
      const entries = (await info.json()) as { path: string; lfs: { oid: string } }[];
      expect(entries.map((e) => [e.path, e.lfs.oid])).toEqual([['config.json', a.files.find((f) => f.path === 'config.json')!.sha256]]);
      const missing = await fetch(`${base}/api/models/tiny-lm/tree/main/no-such-folder`);
      expect([missing.status, missing.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
      const elsewhere = await fetch(`${base}/api/datasets/tiny-lm`);
      expect([elsewhere.status, elsewhere.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
      expect(((await elsewhere.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    // A gated model's file names are not revealed without a token: a missing file is refused the same way.
    const hidden = await fetch(`${server.url}/hf/members-lm/resolve/main/no-such-file`, { method: 'HEAD' });
    expect([hidden.status, hidden.headers.get('x-error-code')]).toEqual([401, 'GatedRepo']);
  }, 120_000);

  it('HF-006: the local endpoint streams a cold multi-leaf file as its 1 MiB leaves verify against the CID DAG: right bytes (whole and Range) from an honest gateway; from a gateway lying in leaf 3 the client gets only whole verified leaves, then a broken body, then a refusal', async () => {
    const a = (await approved('big-lm', 1)).files[0]!;
    expect(a.size).toBe(bigBytes.length);
    expect(sha256(bigBytes)).toBe(a.sha256);
    // Honest: a fresh endpoint (cold cache); a Range in the middle and the whole file, through the real client.
    const honest = await startLocalEndpoint({
      rpcUrl: chain.rpcUrl,
      deploymentFile: chain.deploymentFile,
      gateways: [server.url],
      cacheDir: tmp('stream-cache'),
    });
    try {
      const mid = await fetch(`${honest.url}/big-lm/resolve/main/w.bin`, { headers: { range: 'bytes=3000000-4200000' } });
      expect(mid.status).toBe(206);
      expect(Buffer.from(await mid.arrayBuffer()).equals(bigBytes.subarray(3_000_000, 4_200_001))).toBe(true);
      const { results } = await runHfClient(python, [{ op: 'file', repo: 'big-lm', filename: 'w.bin' }], { HF_ENDPOINT: honest.url, HF_HOME: tmp('home') });
      expect(ok(results[0]).sha256).toBe(a.sha256);
    } finally {
      await honest.close();
    }

    // Lying in leaf 3 (bytes 3 MiB … 4 MiB − 1): leaves 0–2 verify and may be sent, nothing from leaf 3 on.
    const liar = await startLateFlippingGateway(server.url, 3 * 1024 * 1024 + 777);
    const lying = await startLocalEndpoint({
      rpcUrl: chain.rpcUrl,
      deploymentFile: chain.deploymentFile,
      gateways: [`http://127.0.0.1:${(liar.address() as AddressInfo).port}`],
      cacheDir: tmp('stream-lying-cache'),
    });
    try {
      const first = await getBody(`${lying.url}/big-lm/resolve/main/w.bin`);
      expect(first.status).toBe(200);
      expect(first.complete).toBe(false);
      expect(first.body.length).toBeLessThanOrEqual(3 * 1024 * 1024);
      expect(first.body.length % (1024 * 1024)).toBe(0);
      expect(first.body.equals(bigBytes.subarray(0, first.body.length))).toBe(true);
      // The client's retry (with or without Range) is refused, with the reason.
      const again = await getBody(`${lying.url}/big-lm/resolve/main/w.bin`);
      expect(again.status).toBe(502);
      expect(String(again.headers['x-error-message'])).toMatch(/wrong bytes/);
      // The real client: an error, no file under the snapshot path, no wrong blob in its cache.
      const home = tmp('home');
      const { results } = await runHfClient(python, [{ op: 'file', repo: 'big-lm', filename: 'w.bin' }], { HF_ENDPOINT: lying.url, HF_HOME: home });
      expect(results[0].ok).toBe(false);
      const blobs = path.join(home, 'hub', 'models--big-lm', 'blobs');
      for (const name of fs.existsSync(blobs) ? fs.readdirSync(blobs) : []) expect(name).not.toBe(a.sha256);
    } finally {
      await lying.close();
      await new Promise<void>((r) => liar.close(() => r()));
      liar.closeAllConnections();
    }
  }, 180_000);

  it('HF-008: a streamed file whose leaves all match its CID but not its sha256 (a manifest whose cid and sha256 disagree) never completes a body: the last leaf waits for the whole-file check, which fails', async () => {
    const real = (await approved('big-lm', 1)).files[0] as { path: string; size: number; sha256: string; cid: string };
    expect(real.cid).toMatch(/^baf/);
    const claimed = sha256(Buffer.from('a sha256 that is not the one of these bytes'));
    // A gateway that answers /api/blobs/<claimed> with the real file (every leaf hashes to the CID).
    const gateway = http.createServer((req, res) => {
      const url = (req.url ?? '').replace(`/api/blobs/${claimed}`, `/api/blobs/${real.sha256}`);
      const up = http.request(`${server.url}${url}`, { method: req.method, headers: { ...req.headers, host: new URL(server.url).host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
    try {
      const cacheDir = tmp('inconsistent-cache');
      const dl = new VerifiedDownload({ ...real, sha256: claimed }, { gateways: [`http://127.0.0.1:${(gateway.address() as AddressInfo).port}`], cacheDir });
      // A reader as the endpoint's: it reads what readableEnd allows, as soon as it allows it.
      const got: Buffer[] = [];
      let pos = 0;
      const reading = (async () => {
        let fh: fs.promises.FileHandle | null = null;
        try {
          for (;;) {
            const end = await dl.readableEnd(pos);
            fh ??= await dl.open();
            const { buffer, bytesRead } = await fh.read(Buffer.alloc(end - pos), 0, end - pos, pos);
            got.push(buffer.subarray(0, bytesRead));
            pos += bytesRead;
          }
        } finally {
          await fh?.close();
        }
      })();
      await expect(reading).rejects.toThrow(/sha256 [0-9a-f]{64}, expected/);
      const body = Buffer.concat(got);
      expect(body.length).toBeLessThan(real.size);
      expect(body.equals(bigBytes.subarray(0, body.length))).toBe(true);
      expect(fs.existsSync(path.join(cacheDir, 'blobs', claimed))).toBe(false);
    } finally {
      await new Promise<void>((r) => gateway.close(() => r()));
      gateway.closeAllConnections();
    }
  }, 60_000);

  it('HF-007: the local endpoint refuses a version at the first request after the guardian revokes it (it shares chain reads between requests only within one block)', async () => {
    const bytes = crypto.randomBytes(1000);
    const published = await publishFiles({
      baseUrl: server.url,
      privateKey: maintainer.privateKey,
      deployment: chain.deployment,
      model: 'revoked-later-lm',
      parent: null,
      files: [{ path: 'w.bin', bytes }],
      metadata: { license: 'mit' },
    });
    await asTimelock(chain, 'registerModel', [
      'revoked-later-lm',
      { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n },
    ]);
    const id = await modelIdOf(chain, 'revoked-later-lm');
    await asTimelock(chain, 'publishVersion', [id, published.manifestDigest, 0]);
    await server.waitForIndex();
    const url = `${local.url}/revoked-later-lm/resolve/main/w.bin`;
    const before = await fetch(url);
    expect(before.status).toBe(200);
    expect(Buffer.from(await before.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    await asGuardian(chain, 'revokeVersion', [id, 1]);
    for (const u of [url, `${local.url}/revoked-later-lm/resolve/v1/w.bin`]) {
      const after = await fetch(u, { method: 'HEAD' });
      expect([after.status, after.headers.get('x-error-code')]).toEqual([404, 'RevisionNotFound']);
    }
  }, 60_000);
});
