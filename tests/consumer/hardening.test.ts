// Correctness hardening (#18) against the real server (lib/server/main.ts, plain API, in-process
// indexer) and the real `modeldao` CLI process: one rule book for manifest paths, concurrent pulls
// into one cache, and exit codes that follow the kind of failure.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { Governance } from '../../lib/devchain/governance.ts';
import { canonicalManifest, manifestDigest, MANIFEST_SCHEMA, pathProblem } from '../../lib/manifest/index.ts';
import type { RunningServer } from '../../lib/server/main.ts';
import { startTestServer } from '../helpers/test-server.ts';
import { ModelDaoError } from '../../lib/sdk/errors.ts';
import { parseManifest as sdkParseManifest } from '../../lib/sdk/manifest.ts';
import { uploadAuthHeaders, uploadFile } from '../../lib/sdk/upload.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import { ACCESS, asTimelock, modelIdOf, sha256, startTestChain, tmpDir, type TestChain } from './fixtures.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(root, 'lib', 'cli', 'modeldao.mjs');
const maintainer = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey as Hex);

let chain: TestChain;
let server: RunningServer;
let work: string;
let auth: () => Promise<Record<string, string>>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: work,
    env: { ...process.env, MODELDAO_PRIVATE_KEY: '', MODELDAO_GATEWAY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners: (() => void)[] = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const l of listeners) l();
  });
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  /** Resolves once stderr matches (event-driven: checked on every chunk). */
  const stderrMatches = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => re.test(stderr) && resolve();
      listeners.push(check);
      check();
      void done.then(() => reject(new Error(`exited before stderr matched ${re}:\n${stderr}`)));
    });
  return { child, done, stderrMatches };
}
const run = (args: string[], env: Record<string, string> = {}) => start(args, env).done;
const chainArgs = () => ['--rpc', chain.rpcUrl, '--deployment', chain.deploymentFile, '--gateway', server.url];

/** Uploads the files through the real API, stores their manifest, and publishes it as the timelock. */
async function publishThroughServer(
  slug: string,
  files: Record<string, Buffer>,
): Promise<{ digest: Hex; files: { path: string; sha256: string; size: number }[] }> {
  const dir = tmpDir('modeldao-src-');
  const entries = [];
  for (const [p, bytes] of Object.entries(files)) {
    const local = path.join(dir, p.replace(/\//g, '_'));
    fs.writeFileSync(local, bytes);
    const u = await uploadFile({ gateway: server.url, file: local, name: p, authHeaders: auth });
    entries.push({ path: p, size: u.size, sha256: u.sha256, cid: u.cid });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const manifest = { schema: MANIFEST_SCHEMA, model: slug, parent: null, files: entries };
  const res = await fetch(`${server.url}/api/manifests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await auth()) },
    body: Buffer.from(canonicalManifest(manifest as never)),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  const digest = manifestDigest(manifest as never).bytes32;
  await asTimelock(chain, 'registerModel', [slug, { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
  await asTimelock(chain, 'publishVersion', [await modelIdOf(chain, slug), digest, 0]);
  await server.waitForIndex();
  return { digest, files: entries };
}

beforeAll(async () => {
  work = tmpDir();
  chain = await startTestChain();
  server = await startTestServer(chain, path.join(work, 'data'));
  // Uploading takes the proposal threshold in votes: the maintainer delegates to itself, and the next
  // block's timestamp must be past the checkpoint (getVotes(clock - 1)).
  const gov = new Governance(chain.rpcUrl, chain.deployment);
  await gov.delegate(DEV_ACCOUNTS[0].privateKey);
  await gov.client.request({ method: 'evm_increaseTime' as never, params: [2] as never });
  await gov.client.request({ method: 'evm_mine' as never, params: [] as never });
  auth = () =>
    uploadAuthHeaders({ account: maintainer, chainId: chain.deployment.chainId, registry: chain.deployment.contracts.ModelRegistry, gateway: server.url });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await chain?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('one rule book for manifest paths', () => {
  // Paths the clients refuse; the server must refuse each, so governance can never approve a
  // version no consumer can pull.
  const refused: [string, string[]][] = [
    ['reserved name', ['.modeldao/origin.json']],
    ['reserved name, nested', ['weights/.modeldao/manifest.json']],
    ['reserved name, other case', ['.ModelDAO/origin.json']],
    ['traversal', ['../escape.bin']],
    ['absolute', ['/etc/passwd']],
    ['backslash', ['a\\b.bin']],
    ['dot segment', ['ok/./x']],
    ['trailing slash', ['dir/']],
    ['NUL', ['a\u0000b']],
    ['duplicate differing in case', ['Model.bin', 'model.bin']],
    ['a file nested under another file', ['a', 'a/b']],
  ];

  it.each(refused)('POST /api/manifests refuses what every client refuses: %s', async (_why, paths) => {
    const blob = crypto.randomBytes(64);
    const local = path.join(work, `blob-${crypto.randomBytes(4).toString('hex')}`);
    fs.writeFileSync(local, blob);
    const u = await uploadFile({ gateway: server.url, file: local, name: 'blob.bin', authHeaders: auth });
    const manifest = {
      schema: MANIFEST_SCHEMA,
      model: 'rules-lm',
      parent: null,
      files: paths.map((p) => ({ path: p, size: u.size, sha256: u.sha256, cid: u.cid })),
    };
    const res = await fetch(`${server.url}/api/manifests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await auth()) },
      body: JSON.stringify(manifest),
    });
    const body = (await res.json()) as { error?: { code: string; message: string } };
    expect(res.status).toBe(400);
    expect(body.error?.code).toBe('invalid_manifest');
    // …and the SDK (pull, verify) refuses the same manifest.
    let sdkError: unknown;
    try {
      sdkParseManifest(Buffer.from(JSON.stringify(manifest)), 'rules-lm');
    } catch (err) {
      sdkError = err;
    }
    expect(sdkError).toBeInstanceOf(ModelDaoError);
    expect((sdkError as ModelDaoError).kind).toBe('integrity');
  });

  it('the single-path rule is the same function for server and SDK', () => {
    for (const p of ['.modeldao', '.MODELDAO/x', 'x/.modeldao/y']) expect(pathProblem(p)).toMatch(/reserved/);
    expect(pathProblem('.modeldaox/y')).toBeNull();
  });
});

describe('exit codes follow the kind of failure', () => {
  it("propose with an invalid safetensors file exits 8 (rejected) with the server's 422 message, not 7 (network)", async () => {
    await asTimelock(chain, 'registerModel', ['reject-lm', { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);
    const bad = path.join(work, 'broken.safetensors');
    // header length says 1 MiB of JSON, the file has 10 bytes after it
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1024n * 1024n);
    fs.writeFileSync(bad, Buffer.concat([len, Buffer.from('{"a":1}   ')]));
    const r = await run(['propose', 'reject-lm', bad, '--description', 'broken weights', ...chainArgs()], { MODELDAO_PRIVATE_KEY: DEV_ACCOUNTS[0].privateKey });
    expect(r.stderr).toMatch(/422/);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(8);
  });

  it('propose with a file name the manifest rules refuse exits 8 before uploading anything', async () => {
    const odd = path.join(work, '.modeldao');
    fs.writeFileSync(odd, 'x');
    const r = await run(['propose', 'reject-lm', odd, '--description', 'reserved', ...chainArgs()], { MODELDAO_PRIVATE_KEY: DEV_ACCOUNTS[0].privateKey });
    expect(r.stderr).toMatch(/reserved name/);
    expect(r.code).toBe(8);
  });

  it('propose with unreadable --metadata exits 2 (usage), not 1', async () => {
    const notJson = path.join(work, 'meta.txt');
    fs.writeFileSync(notJson, 'license: mit');
    const w = path.join(work, 'w.bin');
    fs.writeFileSync(w, 'weights');
    const r = await run(['propose', 'reject-lm', w, '--description', 'x', '--metadata', notJson, ...chainArgs()], {
      MODELDAO_PRIVATE_KEY: DEV_ACCOUNTS[0].privateKey,
    });
    expect(r.stderr).toMatch(/--metadata .* is not JSON/);
    expect(r.code).toBe(2);
    const p = await run(['propose', 'reject-lm', w, '--description', 'x', '--parent', 'two', ...chainArgs()], {
      MODELDAO_PRIVATE_KEY: DEV_ACCOUNTS[0].privateKey,
    });
    expect(p.code).toBe(2);
  });
});

describe('concurrent pulls into one cache', () => {
  let model: Awaited<ReturnType<typeof publishThroughServer>>;
  const contents = new Map<string, Buffer>();

  beforeAll(async () => {
    const files = {
      'model-00001.bin': crypto.randomBytes(2 * 1024 * 1024 + 3),
      'model-00002.bin': crypto.randomBytes(1024 * 1024),
      'config.json': Buffer.from('{"layers":2}'),
      'tokenizer/vocab.txt': crypto.randomBytes(70_000),
    };
    for (const [p, b] of Object.entries(files)) contents.set(p, b);
    model = await publishThroughServer('multi-gpu-lm', files);
  }, 180_000);

  function expectVerifiedCache(cache: string) {
    for (const f of model.files) {
      const blob = path.join(cache, 'blobs', f.sha256);
      expect(sha256(fs.readFileSync(blob))).toBe(f.sha256);
      expect(fs.existsSync(path.join(cache, '.verified', `${f.sha256}.json`))).toBe(true);
      // the same bytes, compared by digest: toEqual walks a Buffer element by element (≈30 CPU s for this file's checks)
      expect(sha256(fs.readFileSync(path.join(cache, 'snapshots', 'multi-gpu-lm', '1', f.path)))).toBe(sha256(contents.get(f.path)!));
    }
    const leftovers = fs.readdirSync(path.join(cache, 'blobs')).filter((n) => n.endsWith('.incomplete'));
    expect(leftovers).toEqual([]);
    const locks = fs.existsSync(path.join(cache, '.locks'))
      ? fs.readdirSync(path.join(cache, '.locks'), { recursive: true }).filter((n) => String(n).endsWith('.lock'))
      : [];
    expect(locks).toEqual([]);
  }

  it('4 `modeldao pull` processes of the same model into one cache all exit 0 with verified files', async () => {
    const cache = path.join(work, 'shared-cache');
    const outs = [0, 1, 2, 3].map((i) => path.join(work, `rank-${i}`));
    const runs = await Promise.all(outs.map((out) => run(['pull', 'multi-gpu-lm', ...chainArgs(), '--out', out, '--json'], { MODELDAO_CACHE: cache })));
    for (const r of runs) {
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
    }
    // Each blob crossed the network once in all: the others waited for its lock and used it.
    const downloaded = runs.map((r) => (JSON.parse(r.stdout) as { bytesDownloaded: number }).bytesDownloaded);
    expect(downloaded.reduce((a, b) => a + b, 0)).toBe(model.files.reduce((n, f) => n + f.size, 0));
    for (const out of outs) for (const f of model.files) expect(sha256(fs.readFileSync(path.join(out, f.path)))).toBe(f.sha256);
    expectVerifiedCache(cache);
  }, 600_000);

  it('a lock held by a live process is waited for; one left by a killed process does not block', async () => {
    const cache = path.join(work, 'lock-cache');
    const big = model.files.find((f) => f.path === 'model-00001.bin')!;
    const lockFile = path.join(cache, '.locks', `${big.sha256}.lock`);
    const holder = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'tests', 'consumer', 'lock-holder.ts'), lockFile], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d) => String(d).includes('locked') && resolve());
      holder.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
    });
    const p = start(['pull', 'multi-gpu-lm', ...chainArgs()], { MODELDAO_CACHE: cache });
    await p.stderrMatches(new RegExp(`waiting for process ${holder.pid} to finish model-00001\\.bin`));
    expect(fs.existsSync(path.join(cache, 'blobs', big.sha256))).toBe(false);
    // The holder dies without releasing: the waiting pull sees its pid gone and takes over.
    holder.kill('SIGKILL');
    const r = await p.done;
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expectVerifiedCache(cache);
  }, 600_000);

  it('trusts a cached blob only with a verification record for that very file', async () => {
    const cache = path.join(work, 'trust-cache');
    expect((await run(['pull', 'multi-gpu-lm', ...chainArgs()], { MODELDAO_CACHE: cache })).code).toBe(0);
    const big = model.files.find((f) => f.path === 'model-00002.bin')!;
    const blob = path.join(cache, 'blobs', big.sha256);
    // Same size, other bytes (a torn write, a bad disk, a hand edit): the size alone must not vouch for it.
    const corrupt = crypto.randomBytes(big.size);
    fs.rmSync(blob);
    fs.writeFileSync(blob, corrupt);
    const r = await run(['pull', 'multi-gpu-lm', ...chainArgs(), '--json'], { MODELDAO_CACHE: cache });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { bytesDownloaded: number }).bytesDownloaded).toBe(big.size);
    expectVerifiedCache(cache);
    // A blob without a record is hashed once, then recorded (no download when it is right).
    fs.rmSync(path.join(cache, '.verified', `${big.sha256}.json`));
    const again = await run(['pull', 'multi-gpu-lm', ...chainArgs(), '--json'], { MODELDAO_CACHE: cache });
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { bytesDownloaded: number }).bytesDownloaded).toBe(0);
    expectVerifiedCache(cache);
  }, 600_000);
});
