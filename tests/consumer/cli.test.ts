// The real `modeldao` CLI, spawned from an unrelated working directory: exit codes, messages, and
// that nothing is left at final paths when a pull fails.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asGuardian,
  ACCESS,
  listFiles,
  makeVersion,
  modelIdOf,
  publish,
  sha256,
  startGateway,
  startTestChain,
  tmpDir,
  type Gateway,
  type ModelVersionFiles,
  type TestChain,
} from '../helpers/consumer.ts';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'cli', 'modeldao.mjs');

let chain: TestChain;
let v: ModelVersionFiles;
let good: Gateway;
let flipped: Gateway;
const dirs: string[] = [];
const gateways: Gateway[] = [];
const elsewhere = tmpDir('modeldao-cwd-');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], opts: { env?: Record<string, string> } = {}) {
  let child!: ReturnType<typeof spawn>;
  const done = new Promise<Run>((resolve) => {
    child = spawn(process.execPath, [CLI, ...args], {
      cwd: elsewhere,
      env: { ...process.env, MODELDAO_PRIVATE_KEY: '', RPC_URL: '', MODELDAO_GATEWAY: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

const run = (args: string[], opts: { env?: Record<string, string> } = {}) => start(args, opts).done;

function dir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}

const chainArgs = () => ['--rpc', chain.rpcUrl, '--deployment', chain.deploymentFile];

beforeAll(async () => {
  chain = await startTestChain();
  v = makeVersion('cli-lm', { 'model.safetensors': 1024 * 1024, 'config.json': Buffer.from('{"a":1}') });
  await publish(chain, 'cli-lm', v);
  good = await startGateway([v]);
  flipped = await startGateway([v], { kind: 'flip' });
  gateways.push(good, flipped);
}, 180_000);

afterAll(async () => {
  for (const g of gateways) await g.close();
  await chain?.stop();
  for (const d of [...dirs, elsewhere]) fs.rmSync(d, { recursive: true, force: true });
});

describe('modeldao CLI', () => {
  it('pull: exit 0, the files verified at --out, the output path on stdout', async () => {
    const cache = dir();
    const out = path.join(dir(), 'weights');
    const r = await run(['pull', 'cli-lm', ...chainArgs(), '--gateway', good.url, '--out', out], { env: { MODELDAO_CACHE: cache } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    for (const f of v.manifest.files as { path: string; sha256: string }[]) expect(sha256(fs.readFileSync(path.join(out, f.path)))).toBe(f.sha256);
    expect(r.stderr).toContain(v.digest);

    const ok = await run(['verify', out, ...chainArgs()]);
    expect(ok.code).toBe(0);
    const cached = await run(['verify', 'cli-lm', ...chainArgs()], { env: { MODELDAO_CACHE: cache } });
    expect(cached.code).toBe(0);
    expect(cached.stdout).toMatch(/cli-lm v1 at .*snapshots\/cli-lm\/1: matches/);
    fs.writeFileSync(path.join(out, 'config.json'), '{"a":2}');
    const bad = await run(['verify', out, ...chainArgs()]);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toMatch(/FAIL config\.json/);
  });

  it('pull: tampered bytes exit 5, name the gateway, and leave nothing at the final paths', async () => {
    const cache = dir();
    const out = path.join(dir(), 'weights');
    const r = await run(['pull', 'cli-lm', ...chainArgs(), '--gateway', flipped.url, '--out', out, '--cache', cache]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(flipped.url);
    expect(r.stderr).toMatch(/wrong bytes/);
    expect(fs.existsSync(out)).toBe(false);
    expect(listFiles(path.join(cache, 'blobs'))).toEqual([]);
    expect(fs.existsSync(path.join(cache, 'snapshots'))).toBe(false);
  });

  it('pull: RPC down exits 3 with a clear message and creates no cache entry', async () => {
    const cache = path.join(dir(), 'cache');
    const r = await run([
      'pull',
      'cli-lm',
      '--rpc',
      'http://127.0.0.1:9',
      '--registry',
      chain.deployment.contracts.ModelRegistry,
      '--gateway',
      good.url,
      '--cache',
      cache,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach the chain at http:\/\/127\.0\.0\.1:9/);
    expect(fs.existsSync(cache)).toBe(false);
  });

  it('exit 4 for an unknown model or a revoked current version, 2 for bad usage, 7 when no gateway answers', async () => {
    expect((await run(['pull', 'no-such-lm', ...chainArgs(), '--gateway', good.url, '--cache', dir()])).code).toBe(4);
    const rv = makeVersion('cli-revoked', { 'w.bin': 10 });
    await publish(chain, 'cli-revoked', rv);
    await asGuardian(chain, 'revokeVersion', [await modelIdOf(chain, 'cli-revoked'), 1]);
    const revoked = await run(['pull', 'cli-revoked', ...chainArgs(), '--gateway', good.url, '--cache', dir()]);
    expect(revoked.code).toBe(4);
    expect(revoked.stderr).toMatch(/no current version.*revoked/);
    expect((await run(['pull'])).code).toBe(2);
    expect((await run(['pull', 'cli-lm', '--bogus'])).code).toBe(2);
    expect((await run(['pull', 'cli-lm', ...chainArgs(), '--version', 'x'])).code).toBe(2);
    const down = await run(['pull', 'cli-lm', ...chainArgs(), '--gateway', 'http://127.0.0.1:9', '--cache', dir()]);
    expect(down.code).toBe(7);
    expect(down.stderr).toContain('127.0.0.1:9');
  });

  it('exit 6 for a gated model without a key', async () => {
    const gv = makeVersion('cli-gated', { 'w.bin': 10 });
    await publish(chain, 'cli-gated', gv, { access: ACCESS.Allowlist });
    const g = await startGateway(
      [gv],
      { kind: 'honest' },
      { guard: async () => Promise.reject(Object.assign(new Error('this file belongs to a gated model'), { status: 401, code: 'access_token_required' })) },
    );
    gateways.push(g);
    const r = await run(['pull', 'cli-gated', ...chainArgs(), '--gateway', g.url, '--cache', dir()]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/--key/);
  });

  it('an interrupted pull (process killed mid-transfer) resumes where it stopped', async () => {
    // 12 MiB: the part file grows a whole 4 MiB stage at a time (the writer's O_DIRECT staging), so a kill
    // after the first stage leaves a prefix to resume from
    const big = makeVersion('cli-big', { 'w.bin': 12 * 1024 * 1024 });
    await publish(chain, 'cli-big', big);
    const slow = await startGateway([big], { kind: 'slow', intervalMs: 5 });
    gateways.push(slow);
    const cache = dir();
    const out = path.join(dir(), 'out');
    const sha = [...big.files.keys()][0];
    const partial = path.join(cache, 'blobs', `${sha}.incomplete`);
    // Kill once a good part of the file is on disk.
    const p = start(['pull', 'cli-big', ...chainArgs(), '--gateway', slow.url, '--cache', cache, '--out', out]);
    const timer = setInterval(() => {
      if (fs.existsSync(partial) && fs.statSync(partial).size > 1024 * 1024) p.child.kill('SIGKILL');
    }, 20);
    const killed = await p.done;
    clearInterval(timer);
    expect(killed.code).not.toBe(0);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(path.join(cache, 'blobs', sha!))).toBe(false);
    const had = fs.statSync(partial).size;
    slow.setHostility({ kind: 'honest' });
    const r = await run(['pull', 'cli-big', ...chainArgs(), '--gateway', slow.url, '--cache', cache, '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(slow.requests.at(-1)).toContain(`bytes=${had}-`);
    expect(had).toBeLessThan(12 * 1024 * 1024);
    expect(JSON.parse(r.stdout).bytesDownloaded).toBe(12 * 1024 * 1024 - had);
    expect(sha256(fs.readFileSync(path.join(out, 'w.bin')))).toBe(sha);
  });

  it('status: current version, history and access rule', async () => {
    const r = await run(['status', 'cli-lm', ...chainArgs(), '--account', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/current version: 1/);
    expect(r.stdout).toMatch(/access: public/);
    expect(r.stdout).toMatch(/may fetch it/);
    expect(r.stdout).toContain(v.digest);
  });
});
