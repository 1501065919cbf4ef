import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pull, verify, resolveApproved, status, connectChain, ModelDaoError } from '../../lib/sdk/index.ts';
import {
  asGuardian,
  listFiles,
  makeVersion,
  modelIdOf,
  publish,
  sha256,
  startGateway,
  startTestChain,
  tmpDir,
  type Gateway,
  type TestChain,
} from '../helpers/consumer.ts';

let chain: TestChain;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  chain = await startTestChain();
}, 120_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await chain?.stop();
});

async function gateway(...args: Parameters<typeof startGateway>): Promise<Gateway> {
  const g = await startGateway(...args);
  cleanup.push(() => g.close());
  return g;
}
function dir(): string {
  const d = tmpDir();
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}
const base = () => ({ rpcUrl: chain.rpcUrl, deploymentFile: chain.deploymentFile });

async function expectError(p: Promise<unknown>, code: string, kind?: string): Promise<ModelDaoError> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(ModelDaoError);
  expect((err as ModelDaoError).code).toBe(code);
  if (kind) expect((err as ModelDaoError).kind).toBe(kind);
  return err as ModelDaoError;
}

describe('pull', () => {
  it('fetches the current version, verifies every file against the chain, fills the cache and --out', async () => {
    const v1 = makeVersion('tiny-lm', { 'model.safetensors': 3 * 1024 * 1024 + 17, 'config.json': Buffer.from('{"layers":2}'), 'tokenizer/vocab.txt': 1000 });
    await publish(chain, 'tiny-lm', v1);
    const gw = await gateway([v1]);
    const cache = dir();
    const out = path.join(dir(), 'out');
    const r = await pull({ ...base(), slug: 'tiny-lm', gateways: [gw.url], cacheDir: cache, out });
    expect(r.approved.version).toBe(1);
    expect(r.approved.manifestDigest).toBe(v1.digest);
    for (const [p, expected] of [['model.safetensors', v1.manifest], ['config.json'], ['tokenizer/vocab.txt']] as const) {
      void expected;
      const entry = (v1.manifest.files as { path: string; sha256: string }[]).find((f) => f.path === p)!;
      expect(sha256(fs.readFileSync(path.join(out, p)))).toBe(entry.sha256);
      expect(sha256(fs.readFileSync(path.join(r.snapshotDir, p)))).toBe(entry.sha256);
      expect(fs.lstatSync(path.join(r.snapshotDir, p)).isSymbolicLink()).toBe(true);
      expect(fs.existsSync(path.join(cache, 'blobs', entry.sha256))).toBe(true);
    }
    expect(r.snapshotDir).toBe(path.join(cache, 'snapshots', 'tiny-lm', '1'));
    // A second pull is served from the cache: no blob requests.
    const before = gw.requests.filter((q) => q.includes('/api/blobs/')).length;
    const again = await pull({ ...base(), slug: 'tiny-lm', gateways: [gw.url], cacheDir: cache });
    expect(again.bytesDownloaded).toBe(0);
    expect(gw.requests.filter((q) => q.includes('/api/blobs/')).length).toBe(before);
    const checked = await verify({ ...base(), target: out });
    expect(checked.ok).toBe(true);
  });

  it('pulls a version that lists an empty file (nothing to download, still verified and in the cache)', async () => {
    const v = makeVersion('empty-file-lm', { 'model.bin': 4096, 'added_tokens.json': Buffer.alloc(0) });
    await publish(chain, 'empty-file-lm', v);
    const gw = await gateway([v]);
    const cache = dir();
    const out = path.join(dir(), 'out');
    const r = await pull({ ...base(), slug: 'empty-file-lm', gateways: [gw.url], cacheDir: cache, out });
    expect(fs.statSync(path.join(out, 'added_tokens.json')).size).toBe(0);
    expect(fs.existsSync(path.join(cache, 'blobs', sha256(Buffer.alloc(0))))).toBe(true);
    expect(listFiles(path.join(cache, 'blobs')).filter((f) => f.endsWith('.incomplete'))).toEqual([]);
    expect(r.approved.version).toBe(1);
    expect((await verify({ ...base(), target: out })).ok).toBe(true);
  });

  it('rejects flipped bytes, names the gateway, keeps nothing, and takes the file from the next gateway', async () => {
    const v = makeVersion('flip-lm', { 'w.bin': 2 * 1024 * 1024 });
    await publish(chain, 'flip-lm', v);
    const bad = await gateway([v], { kind: 'flip' });
    const cache = dir();
    const err = await expectError(pull({ ...base(), slug: 'flip-lm', gateways: [bad.url], cacheDir: cache }), 'digest_mismatch', 'integrity');
    expect(err.message).toContain(bad.url);
    expect(listFiles(path.join(cache, 'blobs'))).toEqual([]);
    expect(fs.existsSync(path.join(cache, 'snapshots', 'flip-lm'))).toBe(false);

    const good = await gateway([v]);
    const notices: string[] = [];
    const r = await pull({ ...base(), slug: 'flip-lm', gateways: [bad.url, good.url], cacheDir: cache, onNotice: (m) => notices.push(m) });
    expect(notices.join('\n')).toMatch(new RegExp(`${bad.url}.*wrong bytes`));
    expect(sha256(fs.readFileSync(r.files[0]!.localPath))).toBe(r.files[0]!.sha256);
  });

  it('treats a truncated body as a failed transfer and never caches it', async () => {
    const v = makeVersion('trunc-lm', { 'w.bin': 1024 * 1024 });
    await publish(chain, 'trunc-lm', v);
    const bad = await gateway([v], { kind: 'truncate' });
    const cache = dir();
    const err = await expectError(pull({ ...base(), slug: 'trunc-lm', gateways: [bad.url], cacheDir: cache }), 'all_gateways_failed', 'network');
    expect(err.message).toMatch(/truncated|broke off/);
    expect(listFiles(path.join(cache, 'blobs')).filter((f) => !f.endsWith('.incomplete'))).toEqual([]);
  });

  it('refuses a manifest whose sha256 is not the digest on chain', async () => {
    const v = makeVersion('wrongman-lm', { 'w.bin': 4096 });
    await publish(chain, 'wrongman-lm', v);
    const other = makeVersion('wrongman-lm', { 'w.bin': 4096 });
    const bad = await gateway([v, other], { kind: 'wrong-manifest', manifest: other.manifestBytes });
    const cache = dir();
    const err = await expectError(pull({ ...base(), slug: 'wrongman-lm', gateways: [bad.url], cacheDir: cache }), 'digest_mismatch', 'integrity');
    expect(err.message).toContain(bad.url);
    expect(err.message).toContain(v.digest.slice(2));
    expect(fs.existsSync(path.join(cache, 'manifests'))).toBe(false);
    expect(fs.existsSync(path.join(cache, 'blobs'))).toBe(false);
  });

  it('resumes with a Range request after a gateway dies mid-transfer', async () => {
    const v = makeVersion('resume-lm', { 'w.bin': 3 * 1024 * 1024 });
    await publish(chain, 'resume-lm', v);
    const flaky = await gateway([v], { kind: 'die', afterBytes: 1024 * 1024 });
    const cache = dir();
    await expectError(pull({ ...base(), slug: 'resume-lm', gateways: [flaky.url], cacheDir: cache }), 'all_gateways_failed', 'network');
    const sha = [...v.files.keys()][0];
    const partial = path.join(cache, 'blobs', `${sha}.incomplete`);
    expect(fs.statSync(partial).size).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(cache, 'blobs', sha!))).toBe(false);

    // The interrupted pull is resumed (same gateway, now healthy): only the rest is requested.
    const had = fs.statSync(partial).size;
    flaky.setHostility({ kind: 'honest' });
    const r = await pull({ ...base(), slug: 'resume-lm', gateways: [flaky.url], cacheDir: cache });
    expect(flaky.requests.at(-1)).toContain(`bytes=${had}-`);
    expect(r.bytesDownloaded).toBe(3 * 1024 * 1024 - had);
    expect(sha256(fs.readFileSync(r.files[0]!.localPath))).toBe(sha);
    expect(fs.existsSync(partial)).toBe(false);
  });

  it('starts over when a gateway ignores Range, and caches exactly the served file (no stale bytes)', async () => {
    const v = makeVersion('norange-lm', { 'w.bin': 3 * 1024 * 1024 + 5 });
    await publish(chain, 'norange-lm', v);
    const sha = [...v.files.keys()][0]!;
    const gw = await gateway([v], { kind: 'die', afterBytes: 2 * 1024 * 1024 });
    const cache = dir();
    await expectError(pull({ ...base(), slug: 'norange-lm', gateways: [gw.url], cacheDir: cache }), 'all_gateways_failed', 'network');
    const partial = path.join(cache, 'blobs', `${sha}.incomplete`);
    expect(fs.statSync(partial).size).toBeGreaterThan(0);

    gw.setHostility({ kind: 'ignore-range' });
    const r = await pull({ ...base(), slug: 'norange-lm', gateways: [gw.url], cacheDir: cache });
    expect(gw.requests.at(-1)).toMatch(/bytes=\d+-/);
    expect(fs.statSync(r.files[0]!.localPath).size).toBe(3 * 1024 * 1024 + 5);
    expect(sha256(fs.readFileSync(r.files[0]!.localPath))).toBe(sha);
    // the whole file came again in this pull; the earlier pull's partial bytes were never this pull's
    expect(r.bytesDownloaded).toBe(3 * 1024 * 1024 + 5);
  });

  it('reports a disk that refuses writes as a local I/O error and asks no other gateway', async () => {
    const v = makeVersion('fulldisk-lm', { 'w.bin': 2 * 1024 * 1024 });
    await publish(chain, 'fulldisk-lm', v);
    const sha = [...v.files.keys()][0]!;
    const first = await gateway([v]);
    const second = await gateway([v]);
    const cache = dir();
    // The part file is /dev/full: every write of the download fails with ENOSPC, as on a full disk.
    fs.mkdirSync(path.join(cache, 'blobs'), { recursive: true });
    fs.symlinkSync('/dev/full', path.join(cache, 'blobs', `${sha}.incomplete`));
    const err = await expectError(pull({ ...base(), slug: 'fulldisk-lm', gateways: [first.url, second.url], cacheDir: cache }), 'local_io', 'local');
    expect(err.message).toContain('ENOSPC');
    expect(err.message).toContain('w.bin');
    expect(second.requests.filter((q) => q.includes('/api/blobs/'))).toEqual([]);
  });

  it('fails over to the next gateway when one dies mid-transfer, continuing from the partial file', async () => {
    const v = makeVersion('failover-lm', { 'a.bin': 2 * 1024 * 1024, 'b.bin': 1024 * 1024 });
    await publish(chain, 'failover-lm', v);
    const dying = await gateway([v], { kind: 'die', afterBytes: 256 * 1024 });
    const good = await gateway([v]);
    const cache = dir();
    const notices: string[] = [];
    const r = await pull({ ...base(), slug: 'failover-lm', gateways: [dying.url, good.url], cacheDir: cache, onNotice: (m) => notices.push(m) });
    expect(notices.some((n) => n.includes(dying.url))).toBe(true);
    expect(good.requests.some((q) => /bytes=\d+-/.test(q))).toBe(true);
    for (const f of r.files) expect(sha256(fs.readFileSync(f.localPath))).toBe(f.sha256);
  });

  it('explains that the RPC is down and leaves no cache entry', async () => {
    const cache = dir();
    const err = await expectError(
      pull({
        rpcUrl: 'http://127.0.0.1:9',
        deploymentFile: chain.deploymentFile,
        slug: 'tiny-lm',
        gateways: ['http://127.0.0.1:9'],
        cacheDir: path.join(cache, 'c'),
      }),
      'rpc_unreachable',
      'chain',
    );
    expect(err.message).toContain('http://127.0.0.1:9');
    expect(fs.existsSync(path.join(cache, 'c'))).toBe(false);
  });

  it('refuses a model whose current version was revoked, and an explicitly requested revoked version', async () => {
    const v = makeVersion('revoked-lm', { 'w.bin': 1000 });
    await publish(chain, 'revoked-lm', v);
    const id = await modelIdOf(chain, 'revoked-lm');
    await asGuardian(chain, 'revokeVersion', [id, 1]);
    const gw = await gateway([v]);
    const cache = dir();
    const e1 = await expectError(pull({ ...base(), slug: 'revoked-lm', gateways: [gw.url], cacheDir: cache }), 'no_current_version', 'not_found');
    expect(e1.message).toMatch(/revoked/);
    await expectError(pull({ ...base(), slug: 'revoked-lm', version: 1, gateways: [gw.url], cacheDir: cache }), 'version_revoked', 'not_found');
    await expectError(resolveApproved({ ...base(), slug: 'no-such-model' }), 'unknown_model', 'not_found');
    expect(gw.requests).toEqual([]);
  });

  it('a chain connection kept open sees a revoke at once (reads the latest block, not a cached one)', async () => {
    const v = makeVersion('kept-lm', { 'w.bin': 100 });
    await publish(chain, 'kept-lm', v);
    const id = await modelIdOf(chain, 'kept-lm');
    const kept = await connectChain(base());
    expect((await resolveApproved({ chain: kept, slug: 'kept-lm' })).version).toBe(1);
    expect((await status({ chain: kept, slug: 'kept-lm' })).currentVersion).toBe(1);
    await asGuardian(chain, 'revokeVersion', [id, 1]);
    const e = await expectError(resolveApproved({ chain: kept, slug: 'kept-lm' }), 'no_current_version', 'not_found');
    expect(e.message).toMatch(/revoked/);
    expect((await status({ chain: kept, slug: 'kept-lm' })).currentVersion).toBe(0);
  });

  it('rejects path traversal in an approved manifest before writing anything', async () => {
    for (const evil of ['../escape.bin', 'a/../../escape.bin', '/etc/passwd', 'a\\..\\b', 'ok/./x']) {
      const slug = `evil-${sha256(evil).slice(0, 8)}`;
      const v = makeVersion(slug, { [evil]: 100 });
      await publish(chain, slug, v);
      const gw = await gateway([v]);
      const root = dir();
      const cache = path.join(root, 'cache');
      await expectError(pull({ ...base(), slug, gateways: [gw.url], cacheDir: cache, out: path.join(root, 'out', 'deep') }), 'unsafe_path', 'integrity');
      expect(listFiles(root)).toEqual([]);
      expect(fs.existsSync(path.join(root, 'escape.bin'))).toBe(false);
    }
  });

  it('pulls an older (deprecated or superseded) version on request', async () => {
    const v1 = makeVersion('multi-lm', { 'w.bin': 5000 });
    await publish(chain, 'multi-lm', v1);
    const v2 = makeVersion('multi-lm', { 'w.bin': 6000 }, { parent: `sha256:${v1.digest.slice(2)}` });
    await publish(chain, 'multi-lm', v2, { parent: 1 });
    const gw = await gateway([v1, v2]);
    const cache = dir();
    const cur = await pull({ ...base(), slug: 'multi-lm', gateways: [gw.url], cacheDir: cache });
    expect(cur.approved.version).toBe(2);
    const old = await pull({ ...base(), slug: 'multi-lm', version: 1, gateways: [gw.url], cacheDir: cache });
    expect(old.approved.version).toBe(1);
    expect(old.approved.isCurrent).toBe(false);
    expect(old.files[0]!.size).toBe(5000);
  });

  it('verify notices a modified file in a pulled directory', async () => {
    const v = makeVersion('verify-lm', { 'w.bin': 10_000 });
    await publish(chain, 'verify-lm', v);
    const gw = await gateway([v]);
    const out = path.join(dir(), 'out');
    await pull({ ...base(), slug: 'verify-lm', gateways: [gw.url], cacheDir: dir(), out });
    fs.appendFileSync(path.join(out, 'w.bin'), 'x');
    const r = await verify({ ...base(), target: out });
    expect(r.ok).toBe(false);
    expect(r.files[0]!.problem).toBe('size');
  });

  it('verifies and resumes a 40 MiB file across bad gateways and interruptions', async () => {
    const v = makeVersion('big-lm', { 'w.bin': 40 * 1024 * 1024 });
    await publish(chain, 'big-lm', v);
    const sha = [...v.files.keys()][0];
    const flaky = await gateway([v], { kind: 'die', afterBytes: 9 * 1024 * 1024 });
    const cache = dir();
    await expectError(pull({ ...base(), slug: 'big-lm', gateways: [flaky.url], cacheDir: cache }), 'all_gateways_failed', 'network');
    const flipped = await gateway([v], { kind: 'flip' });
    // Resuming from a bad gateway: wrong bytes are caught, the partial file is dropped.
    await expectError(pull({ ...base(), slug: 'big-lm', gateways: [flipped.url], cacheDir: cache }), 'digest_mismatch', 'integrity');
    expect(listFiles(path.join(cache, 'blobs'))).toEqual([]);
    await expectError(pull({ ...base(), slug: 'big-lm', gateways: [flaky.url], cacheDir: cache }), 'all_gateways_failed', 'network');
    flaky.setHostility({ kind: 'honest' });
    const r = await pull({ ...base(), slug: 'big-lm', gateways: [flaky.url], cacheDir: cache });
    expect(flaky.requests.at(-1)).toMatch(/bytes=\d+-/);
    expect(sha256(fs.readFileSync(r.files[0]!.localPath))).toBe(sha);
  });
});
