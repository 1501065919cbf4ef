// `modeldao pull --ipfs-gateway` (SDK and the real CLI) against our real gateway (upload routes +
// /ipfs on a real anvil deploy), directly and through proxies that lie: flip a byte, truncate,
// stall — alone and mixed with honest ones, and mixed with --gateway.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPins } from '../../lib/artifacts/catalog.ts';
import { MANIFEST_SCHEMA } from '../../lib/manifest/index.ts';
import { CID } from 'multiformats/cid';
import { ModelDaoError, pull, status } from '../../lib/sdk/index.ts';
import { IpfsGatewayPool, leavesOf } from '../../lib/sdk/ipfs.ts';
import { indexVersion, startHarness, upload, type Harness } from '../artifacts/harness.ts';
import { listFiles, publish, tmpDir } from '../consumer/fixtures.ts';
import { flipBigBlocks, startGatewayProxy, type GatewayProxy } from '../helpers/gateway-proxy.ts';

const MiB = 1024 * 1024;
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'cli', 'modeldao.mjs');
const SLUG = 'ipfs-lm';
let h: Harness;
const files = new Map<string, Buffer>();
const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];

type Mode = 'honest' | 'flip' | 'truncate' | 'stall' | 'no-car' | 'slow-start';

/**
 * A gateway in front of ours that misbehaves on file blocks (> 64 KiB), so the manifest (small)
 * passes and the lie happens mid-file.
 */
async function proxy(mode: Mode): Promise<GatewayProxy> {
  const flip = flipBigBlocks();
  const p = await startGatewayProxy(h.url, (a, url) => {
    // a gateway without CAR byte ranges (a 400, as the spec allows for unsupported parameters)
    if (mode === 'no-car' && url.includes('entity-bytes=')) return { status: 400, contentType: 'text/plain', body: Buffer.from('entity-bytes not supported') };
    const bigBlock = a.status === 200 && a.body.length > 64 * 1024;
    // the file's first bytes come last, after every later leaf
    if (mode === 'slow-start') return url.includes('entity-bytes=0:') ? new Promise((r) => setTimeout(() => r(a), 1500)) : a;
    if (!bigBlock || mode === 'honest' || mode === 'no-car') return a;
    if (mode === 'stall') return null; // never answers
    if (mode === 'flip') return flip(a);
    return { ...a, body: a.body.subarray(0, a.body.length >> 1) };
  });
  closers.push(() => p.close());
  return p;
}

function dir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  h = await startHarness();
  files.set('model.safetensors', crypto.randomBytes(6 * MiB + 4321));
  files.set('config.json', Buffer.from('{"layers":2}'));
  const entries = [];
  for (const [p, bytes] of files) {
    const up = (await upload(h, bytes)).body as { size: number; sha256: string; cid: string };
    entries.push({ path: p, size: up.size, sha256: up.sha256, cid: up.cid });
  }
  const res = await fetch(`${h.url}/api/manifests`, {
    method: 'POST',
    headers: { authorization: await h.auth(), 'content-type': 'application/json' },
    body: JSON.stringify({ schema: MANIFEST_SCHEMA, model: SLUG, parent: null, files: entries }),
  });
  const m = (await res.json()) as { manifestDigest: `0x${string}` };
  await publish(h.chain, SLUG, { digest: m.manifestDigest } as never);
  await indexVersion(h, { manifestDigest: m.manifestDigest });
  await syncPins(h.database.db, h.chain.deployment.chainId);
}, 180_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await h?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const base = () => ({ rpcUrl: h.chain.rpcUrl, deploymentFile: h.chain.deploymentFile, slug: SLUG });

function expectFiles(r: Awaited<ReturnType<typeof pull>>) {
  for (const [p, bytes] of files) {
    const f = r.files.find((x) => x.path === p)!;
    expect(fs.readFileSync(f.localPath).equals(bytes), p).toBe(true);
  }
}

describe('pull --ipfs-gateway', () => {
  it('through our gateway alone: manifest by its CID, the file in CAR byte ranges, nothing from /api', async () => {
    const direct = await proxy('honest');
    const r = await pull({ ...base(), ipfsGateways: [direct.url], cacheDir: dir() });
    expectFiles(r);
    expect(direct.requests.every((u) => u.startsWith('/ipfs/'))).toBe(true);
    const cars = direct.requests.filter((u) => u.includes('format=car'));
    const raws = direct.requests.filter((u) => u.endsWith('?format=raw'));
    // 7 leaves in 4 parallel streams: ranges of 2 leaves as CAR (entity-bytes), the odd one raw;
    // raw: the manifest, the root node, the last leaf, the single-block config
    expect(cars.length).toBe(3);
    expect(cars.every((u) => /dag-scope=entity&entity-bytes=\d+:\d+/.test(u))).toBe(true);
    expect(raws.length).toBe(4);
    expect(direct.requests.length).toBe(cars.length + raws.length);
  });

  it('straight from our gateway, whose CARs stream with chunked transfer coding (no proxy in between)', async () => {
    const notices: string[] = [];
    const r = await pull({ ...base(), ipfsGateways: [h.url], cacheDir: dir(), onNotice: (m) => notices.push(m) });
    expectFiles(r);
    expect(notices.filter((n) => /IPFS gateway/.test(n))).toEqual([]);
  });

  it('a gateway without CAR byte ranges is asked for raw blocks instead (named in a notice, not dropped)', async () => {
    const noCar = await proxy('no-car');
    const notices: string[] = [];
    const r = await pull({ ...base(), ipfsGateways: [noCar.url], cacheDir: dir(), onNotice: (m) => notices.push(m) });
    expectFiles(r);
    expect(notices.some((n) => n.includes(noCar.url) && /does not serve CAR byte ranges/.test(n))).toBe(true);
    expect(notices.some((n) => n.includes('dropping'))).toBe(false);
    // manifest, root, config, 7 leaves raw; the CAR requests already in flight when the first 400 came
    expect(noCar.requests.filter((u) => u.endsWith('?format=raw')).length).toBe(3 + 7);
    const cars = noCar.requests.filter((u) => u.includes('format=car')).length;
    expect(cars).toBeGreaterThanOrEqual(1);
    expect(cars).toBeLessThanOrEqual(3);
  });

  it('a gateway that answers raw blocks in chunked transfer coding (no Content-Length) still serves them', async () => {
    const chunked = await startGatewayProxy(
      h.url,
      (a, url) => (url.includes('entity-bytes=') ? { status: 400, contentType: 'text/plain', body: Buffer.from('entity-bytes not supported') } : a),
      { chunked: true },
    );
    closers.push(() => chunked.close());
    const notices: string[] = [];
    const r = await pull({ ...base(), ipfsGateways: [chunked.url], cacheDir: dir(), onNotice: (m) => notices.push(m) });
    expectFiles(r);
    expect(notices.some((n) => n.includes('dropping'))).toBe(false);
    // manifest, root, config, 7 leaves; the manifest twice (its first answer showed no Content-Length)
    expect(chunked.requests.filter((u) => u.endsWith('?format=raw')).length).toBe(1 + 3 + 7);
  });

  it('a bad block inside a CAR: the gateway is named and dropped, nothing unverified reaches the partial file or the cache', async () => {
    const flip = await proxy('flip');
    const cache = dir();
    const notices: string[] = [];
    const err = (await pull({ ...base(), ipfsGateways: [flip.url], cacheDir: cache, onNotice: (m) => notices.push(m) }).catch((e) => e)) as ModelDaoError;
    expect(err).toBeInstanceOf(ModelDaoError);
    expect(err.kind).toBe('integrity');
    expect(notices.some((n) => n.includes(`dropping IPFS gateway ${flip.url}`) && /CAR of bytes/.test(n) && /do not hash to it/.test(n))).toBe(true);
    expect(flip.requests.some((u) => u.includes('entity-bytes='))).toBe(true);
    const model = files.get('model.safetensors')!;
    const sha = crypto.createHash('sha256').update(model).digest('hex');
    expect(fs.existsSync(path.join(cache, 'blobs', sha))).toBe(false);
    // the partial file (kept for a resume) holds verified leaves or nothing (zeros), never the flipped bytes
    const part = path.join(cache, 'blobs', `${sha}.ipfs-incomplete`);
    if (fs.existsSync(part)) {
      const got = fs.readFileSync(part);
      for (let off = 0; off < model.length; off += MiB) {
        const a = got.subarray(off, Math.min(off + MiB, model.length));
        const want = model.subarray(off, off + a.length);
        expect(a.equals(want) || a.every((b) => b === 0), `leaf at ${off}`).toBe(true);
      }
    }
  });

  for (const mode of ['flip', 'truncate'] as const) {
    it(`a ${mode === 'flip' ? 'byte-flipping' : 'truncating'} gateway alone: integrity failure naming it, nothing unverified in the cache`, async () => {
      const bad = await proxy(mode);
      const cache = dir();
      const err = (await pull({ ...base(), ipfsGateways: [bad.url], cacheDir: cache }).catch((e) => e)) as ModelDaoError;
      expect(err).toBeInstanceOf(ModelDaoError);
      expect(err.kind).toBe('integrity');
      expect(err.message).toContain(bad.url);
      expect(err.message).toMatch(mode === 'flip' ? /do not hash to it/ : /do not hash to it|truncating gateway/);
      expect(fs.existsSync(path.join(cache, 'blobs', crypto.createHash('sha256').update(files.get('model.safetensors')!).digest('hex')))).toBe(false);
      expect(listFiles(path.join(cache, 'snapshots')).length).toBe(0);
    });
  }

  it('a stalling gateway alone: dropped after the block timeout, network failure naming it', async () => {
    const stall = await proxy('stall');
    const err = (await pull({ ...base(), ipfsGateways: [stall.url], cacheDir: dir(), ipfsBlockTimeoutMs: 1500 }).catch((e) => e)) as ModelDaoError;
    expect(err).toBeInstanceOf(ModelDaoError);
    expect(err.kind).toBe('network');
    expect(err.message).toContain(stall.url);
    expect(err.message).toMatch(/stalled/);
  });

  it('mixed: lying, truncating and stalling gateways are named and dropped, the honest one finishes; blocks were fetched in parallel from several', async () => {
    const [flip, trunc, stall, honest] = await Promise.all([proxy('flip'), proxy('truncate'), proxy('stall'), proxy('honest')]);
    const notices: string[] = [];
    const r = await pull({
      ...base(),
      ipfsGateways: [flip.url, trunc.url, stall.url, honest.url],
      cacheDir: dir(),
      // the test proxies buffer a whole answer (a 2 MiB CAR) before sending it: on a loaded machine
      // an honest one can take more than 1.5 s for its first block
      ipfsBlockTimeoutMs: 6000,
      onNotice: (m) => notices.push(m),
    });
    expectFiles(r);
    for (const g of [flip, trunc, stall])
      expect(
        notices.some((n) => n.includes(`dropping IPFS gateway ${g.url}`)),
        g.url,
      ).toBe(true);
    expect(notices.some((n) => n.includes(honest.url))).toBe(false);
    for (const g of [flip, trunc, stall, honest]) expect(g.requests.length).toBeGreaterThan(0);
  });

  it('leaves that arrive before the first ones are hashed into the file digest in file order (held until their turn)', async () => {
    const slow = await proxy('slow-start');
    const r = await pull({ ...base(), ipfsGateways: [slow.url], cacheDir: dir() });
    expectFiles(r);
    expect(slow.requests.some((u) => u.includes('entity-bytes=0:'))).toBe(true);
  });

  it('two honest gateways share the blocks', async () => {
    const [a, b] = await Promise.all([proxy('honest'), proxy('honest')]);
    const r = await pull({ ...base(), ipfsGateways: [a.url, b.url], cacheDir: dir() });
    expectFiles(r);
    expect(a.requests.length).toBeGreaterThan(2);
    expect(b.requests.length).toBeGreaterThan(2);
  });

  it('mixed with --gateway: when every IPFS gateway lies, the file comes from /api/blobs, verified', async () => {
    const flip = await proxy('flip');
    const notices: string[] = [];
    const r = await pull({ ...base(), ipfsGateways: [flip.url], gateways: [h.url], cacheDir: dir(), onNotice: (m) => notices.push(m) });
    expectFiles(r);
    expect(notices.some((n) => n.includes(flip.url))).toBe(true);
  });

  it('resumes: blocks already in the partial file are kept (checked against their CIDs), only the rest is fetched', async () => {
    const cache = dir();
    const model = files.get('model.safetensors')!;
    const sha = crypto.createHash('sha256').update(model).digest('hex');
    fs.mkdirSync(path.join(cache, 'blobs'), { recursive: true });
    const part = path.join(cache, 'blobs', `${sha}.ipfs-incomplete`);
    // the first 3 MiB arrived earlier; one of them is corrupt on disk and must be fetched again
    const partial = Buffer.from(model.subarray(0, 3 * MiB));
    partial[MiB + 5]! ^= 0xff;
    fs.writeFileSync(part, partial);
    const gw = await proxy('honest');
    const notices: string[] = [];
    const r = await pull({ ...base(), ipfsGateways: [gw.url], cacheDir: cache, onNotice: (m) => notices.push(m) });
    expectFiles(r);
    expect(notices.some((n) => /resumed model\.safetensors over IPFS: 2097152 bytes/.test(n))).toBe(true);
    // manifest + root + config; the 5 missing leaves: leaf 1 alone (raw), leaves 3-6 in two CAR ranges
    expect(gw.requests.filter((u) => u.endsWith('?format=raw')).length).toBe(1 + 1 + 1 + 1);
    expect(gw.requests.filter((u) => u.includes('format=car')).map((u) => /entity-bytes=([^&]+)/.exec(u)![1])).toEqual(
      expect.arrayContaining([`${3 * MiB}:${5 * MiB - 1}`, `${5 * MiB}:${6 * MiB + 4321 - 1}`]),
    );
    expect(gw.requests.length).toBe(6);
    expect(fs.existsSync(part)).toBe(false);
  });

  it('status shows the manifest CID, and it is what the gateway serves the manifest under', async () => {
    const s = await status({ rpcUrl: h.chain.rpcUrl, deploymentFile: h.chain.deploymentFile, slug: SLUG });
    const cid = s.versions[0]!.manifestCid;
    expect(cid).toMatch(/^bafkrei/);
    const res = await fetch(`${h.url}/ipfs/${cid}?format=raw`);
    expect(res.status).toBe(200);
    expect(
      crypto
        .createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(s.versions[0]!.manifestDigest.slice(2));
  });

  it('the CLI: --ipfs-gateway (repeatable) pulls; a lying gateway alone exits 5 (integrity) and names it; status prints the manifest CID', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args, '--rpc', h.chain.rpcUrl, '--deployment', h.chain.deploymentFile], {
          cwd: dir(),
          env: { ...process.env, MODELDAO_PRIVATE_KEY: '', RPC_URL: '', MODELDAO_GATEWAY: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const [honest, flip] = await Promise.all([proxy('honest'), proxy('flip')]);
    const out = path.join(dir(), 'out');
    const ok = await run(['pull', SLUG, '--ipfs-gateway', flip.url, '--ipfs-gateway', honest.url, '--out', out, '--cache', dir(), '--quiet']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(files.get('model.safetensors')!)).toBe(true);
    const bad = await run(['pull', SLUG, '--ipfs-gateway', flip.url, '--cache', dir(), '--quiet']);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain(flip.url);
    const st = await run(['status', SLUG]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/manifest CID bafkrei[a-z2-7]+/);
  });
});

describe('raw blocks from the SDK pool (kept connections, reused buffers)', () => {
  it('blocks fetched 7 at a time over 3 rounds, each buffer given back after use, are each the right bytes; a buffer given back twice is handed out once', async () => {
    const bytes = files.get('model.safetensors')!;
    const up = (await upload(h, bytes)).body as { cid: string };
    const pool = new IpfsGatewayPool({ gateways: [h.url] });
    const leaves = await leavesOf(pool, CID.parse(up.cid), bytes.length);
    expect(leaves.length).toBe(7);
    const seenBuffers = new Set<ArrayBufferLike>();
    for (let round = 0; round < 3; round++) {
      const blocks = await Promise.all(leaves.map((l) => pool.fetchBlock(l.cid)));
      blocks.forEach((b, i) =>
        expect(Buffer.from(b).equals(bytes.subarray(leaves[i]!.offset, leaves[i]!.offset + leaves[i]!.size)), `round ${round} leaf ${i}`).toBe(true),
      );
      expect(new Set(blocks.map((b) => b.buffer)).size).toBe(7); // no two blocks share memory
      for (const b of blocks) seenBuffers.add(b.buffer);
      for (const b of blocks) pool.release(b);
    }
    expect(seenBuffers.size).toBe(7); // rounds 2 and 3 reused round 1's buffers
    const a = await pool.fetchBlock(leaves[0]!.cid);
    pool.release(a);
    pool.release(a); // a caller's mistake: must not put the buffer in the spares twice
    const [b, c] = await Promise.all([pool.fetchBlock(leaves[1]!.cid), pool.fetchBlock(leaves[2]!.cid)]);
    expect(b.buffer).not.toBe(c.buffer);
    expect(Buffer.from(b).equals(bytes.subarray(leaves[1]!.offset, leaves[1]!.offset + leaves[1]!.size))).toBe(true);
    expect(Buffer.from(c).equals(bytes.subarray(leaves[2]!.offset, leaves[2]!.offset + leaves[2]!.size))).toBe(true);
    expect(pool.dropped).toEqual([]);
  });
});
