import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSafetensors } from '../../lib/artifacts/safetensors.ts';
import { syncPins, getBlob } from '../../lib/artifacts/catalog.ts';
import { MANIFEST_SCHEMA } from '../../lib/manifest/index.ts';
import { HttpError } from '../../lib/server/http.ts';
import { indexVersion, setVersionStatus, startHarness, upload, type Harness } from './harness.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ UPLOAD_MAX_BYTES: 16 * MiB });
});
afterAll(async () => {
  await h?.close();
});

const tmpFiles = () => fs.readdirSync(path.join(h.storeDir, 'tmp'));
const hasBlob = (s: string) => h.store.has(s);

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function postManifest(manifest: unknown) {
  const res = await fetch(`${h.url}/api/manifests`, {
    method: 'POST',
    headers: { authorization: await h.auth(), 'content-type': 'application/json' },
    body: JSON.stringify(manifest),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function publishedBlob(bytes: Uint8Array, accessKind: 'Public' | 'TokenHolders' = 'Public') {
  const up = await upload(h, bytes);
  const m = await postManifest({
    schema: MANIFEST_SCHEMA,
    model: 'tiny',
    parent: null,
    files: [{ path: 'w.bin', size: up.body.size, sha256: up.body.sha256, cid: up.body.cid }],
  });
  const modelId = await indexVersion(h, { manifestDigest: m.body.manifestDigest, accessKind });
  await syncPins(h.database.db, h.chain.deployment.chainId);
  return { sha256: up.body.sha256 as string, digest: m.body.manifestDigest as string, modelId };
}

describe('POST /api/uploads', () => {
  it('stores a file and returns its size, sha256 and CID; the same bytes again are not stored twice', async () => {
    const bytes = randomBytes(3 * MiB + 17);
    const first = await upload(h, bytes);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ size: bytes.length, sha256: sha(bytes) });
    expect(first.body.cid).toMatch(/^bafy/);
    const again = await upload(h, bytes);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(tmpFiles()).toEqual([]);
  });

  it('accepts a zero-byte file', async () => {
    const r = await upload(h, new Uint8Array(0));
    expect([200, 201]).toContain(r.status);
    expect(r.body).toMatchObject({ size: 0, sha256: sha(new Uint8Array(0)), cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' });
  });

  it('refuses uploads without a valid, fresh authorization from an account that may propose', async () => {
    const noAuth = await fetch(`${h.url}/api/uploads`, { method: 'POST', body: 'x' });
    expect(noAuth.status).toBe(401);
    expect(((await noAuth.json()) as any).error.code).toBe('upload_authorization_required');

    const now = Math.floor(Date.now() / 1000);
    const chainNow = Number((await h.ctx.publicClient.getBlock()).timestamp);
    const expired = await upload(h, randomBytes(10), { authorization: await h.auth(0, Math.min(now, chainNow) - 10) });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('upload_authorization_expired');

    const tooLong = await upload(h, randomBytes(10), { authorization: await h.auth(0, Math.max(now, chainNow) + 2 * 3600) });
    expect(tooLong.status).toBe(401);
    expect(tooLong.body.error.code).toBe('upload_authorization_too_long');

    // account 0's signature presented as account 1's
    const forged = JSON.parse(Buffer.from((await h.auth(0)).split(' ')[1] ?? '', 'base64url').toString());
    forged.account = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const bad = await upload(h, randomBytes(10), { authorization: `ModelDAO-Upload ${Buffer.from(JSON.stringify(forged)).toString('base64url')}` });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_signature');

    // account 7 holds no votes
    const weak = await upload(h, randomBytes(10), {}, 7);
    expect(weak.status).toBe(403);
    expect(weak.body.error.code).toBe('insufficient_voting_power');
    expect(tmpFiles()).toEqual([]);
  });

  it('rejects bytes that do not match x-expected-sha256 and keeps nothing', async () => {
    const bytes = randomBytes(2 * MiB);
    const r = await upload(h, bytes, { 'x-expected-sha256': sha(randomBytes(4)) });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('hash_mismatch');
    expect(await hasBlob(sha(bytes))).toBe(false);
    const ok = await upload(h, bytes, { 'x-expected-sha256': `sha256:${sha(bytes)}` });
    expect(ok.status).toBe(201);
    const malformed = await upload(h, bytes, { 'x-expected-sha256': 'abc' });
    expect(malformed.status).toBe(400);
  });

  it('answers 413 above the size limit, by Content-Length or mid-stream, and keeps nothing', async () => {
    const big = randomBytes(17 * MiB);
    const declared = await upload(h, big);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('upload_too_large');
    // chunked: no Content-Length, the limit hits while streaming
    const chunked = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      h.auth().then((authorization) => {
        const req = http.request(`${h.url}/api/uploads`, { method: 'POST', headers: { authorization, 'transfer-encoding': 'chunked' } }, (res) => {
          let data = '';
          res.on('data', (d) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(data) }));
        });
        req.on('error', reject);
        let sent = 0;
        const pump = () => {
          while (sent < big.length) {
            const piece = big.subarray(sent, sent + MiB);
            sent += piece.length;
            if (!req.write(piece)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      }, reject);
    });
    expect(chunked.status).toBe(413);
    expect(await hasBlob(sha(big))).toBe(false);
    await waitFor(() => tmpFiles().length === 0, 'temp cleanup');
  });

  it('keeps nothing when the client disconnects mid-upload', async () => {
    const authorization = await h.auth();
    const bytes = randomBytes(4 * MiB);
    await new Promise<void>((resolve) => {
      const req = http.request(`${h.url}/api/uploads`, { method: 'POST', headers: { authorization, 'content-length': String(10 * MiB) } });
      req.on('error', () => resolve());
      // disconnect once the upload is under way on the server (its temp file exists), not after a guess
      req.write(
        bytes,
        () =>
          void waitFor(() => tmpFiles().length > 0, 'upload under way').finally(() => {
            req.destroy();
            resolve();
          }),
      );
    });
    await waitFor(() => tmpFiles().length === 0, 'temp cleanup after disconnect');
    expect(await hasBlob(sha(bytes))).toBe(false);
    expect(await h.store.verifyAll()).toMatchObject({ bad: [] });
  });

  it('stores concurrent uploads of the same bytes once', async () => {
    const bytes = randomBytes(6 * MiB);
    const results = await Promise.all([0, 0, 0, 0].map((a) => upload(h, bytes, {}, a)));
    for (const r of results) expect(r.body.sha256).toBe(sha(bytes));
    expect(results.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
    expect(tmpFiles()).toEqual([]);
    expect((await h.store.verifyAll()).bad).toEqual([]);
  });

  it('summarises safetensors files and refuses malformed ones with the rule and tensor', async () => {
    const file = buildSafetensors(
      [
        { name: 'embed', dtype: 'F16', shape: [64, 32] },
        { name: 'head', dtype: 'F32', shape: [32, 64] },
      ],
      { format: 'pt' },
    );
    const ok = await upload(h, file, { 'x-file-name': 'model.safetensors' });
    expect(ok.status).toBe(201);
    expect(ok.body.safetensors.parameters).toEqual({ total: 4096, byDtype: { F16: 2048, F32: 2048 } });
    expect((await getBlob(h.database.db, ok.body.sha256))?.safetensors?.tensorCount).toBe(2);

    const broken = Uint8Array.from(file);
    broken[broken.length - 1] = 1; // still valid: data bytes are free
    const truncated = file.subarray(0, file.length - 4);
    const r = await upload(h, truncated, { 'x-file-name': 'model.safetensors' });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('invalid_safetensors');
    expect(r.body.error.message).toContain('data_size_mismatch');
    expect(await hasBlob(sha(truncated))).toBe(false);

    const header = JSON.stringify({ w: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } });
    const bad = Buffer.alloc(8 + header.length + 4);
    bad.writeBigUInt64LE(BigInt(header.length));
    bad.write(header, 8);
    const r2 = await upload(h, bad, { 'x-file-name': 'weights/model-00001.safetensors' });
    expect(r2.status).toBe(422);
    expect(r2.body.error.message).toMatch(/tensor "w".*size_mismatch/);
    // the same bytes under a non-safetensors name are just a file
    expect((await upload(h, bad, { 'x-file-name': 'notes.bin' })).status).toBe(201);
  });

  it('enforces the per-account quota on unpinned bytes', async () => {
    const saved = h.ctx.env.UPLOAD_QUOTA_BYTES;
    h.ctx.env.UPLOAD_QUOTA_BYTES = 1;
    try {
      const r = await upload(h, randomBytes(1000));
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('quota_exceeded');
    } finally {
      h.ctx.env.UPLOAD_QUOTA_BYTES = saved;
    }
  });
});

describe('manifests', () => {
  it('stores a valid manifest canonically and serves it by any digest form', async () => {
    const a = await upload(h, randomBytes(1500));
    const b = await upload(h, randomBytes(2500));
    const manifest = {
      schema: MANIFEST_SCHEMA,
      model: 'tiny-lm',
      parent: null,
      metadata: { license: 'apache-2.0', description: 'déjà vu', evals: [] },
      files: [
        { sha256: a.body.sha256, path: 'config.json', size: 1500, cid: a.body.cid },
        { path: 'shards/model.bin', size: 2500, sha256: b.body.sha256, cid: b.body.cid },
      ],
    };
    const r = await postManifest(manifest);
    expect(r.status).toBe(201);
    expect(r.body.manifestDigest).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.body.digest).toBe(`sha256:${r.body.manifestDigest.slice(2)}`);
    for (const form of [r.body.manifestDigest, r.body.digest, r.body.manifestDigest.slice(2)]) {
      const g = await fetch(`${h.url}/api/manifests/${form}`);
      expect(g.status).toBe(200);
      const bytes = new Uint8Array(await g.arrayBuffer());
      expect(`0x${sha(bytes)}`).toBe(r.body.manifestDigest);
      expect(new TextDecoder().decode(bytes).startsWith('{"files":[{"cid"')).toBe(true);
    }
    expect((await postManifest(manifest)).status).toBe(200);
    // a child version referring to it as parent
    const child = await postManifest({ ...manifest, parent: r.body.digest, metadata: {} });
    expect(child.status).toBe(201);
    expect((await fetch(`${h.url}/api/manifests/0x${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${h.url}/api/manifests/nothex`)).status).toBe(400);
  });

  it("serves manifests with the blobs' cache policy: never immutable, revalidated within a minute", async () => {
    // #18: an unpublished manifest may later become a gated or revoked version, so no shared cache
    // may keep it for a year.
    const up = await upload(h, randomBytes(700));
    const m = await postManifest({
      schema: MANIFEST_SCHEMA,
      model: 'cached',
      parent: null,
      files: [{ path: 'w.bin', size: up.body.size, sha256: up.body.sha256, cid: up.body.cid }],
    });
    const unpublished = await fetch(`${h.url}/api/manifests/${m.body.manifestDigest}`);
    expect(unpublished.status).toBe(200);
    expect(unpublished.headers.get('cache-control')).toBe('public, no-cache');
    const notModified = await fetch(`${h.url}/api/manifests/${m.body.manifestDigest}`, { headers: { 'if-none-match': unpublished.headers.get('etag')! } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('cache-control')).not.toMatch(/immutable/);
    const pub = await publishedBlob(randomBytes(800));
    const published = await fetch(`${h.url}/api/manifests/${pub.digest}`);
    expect(published.headers.get('cache-control')).toBe('public, max-age=60, must-revalidate');
  });

  it('rejects bad paths, duplicates, unknown or mismatched blobs and unknown parents', async () => {
    const a = await upload(h, randomBytes(100));
    const file = { path: 'a.bin', size: 100, sha256: a.body.sha256, cid: a.body.cid };
    const base = { schema: MANIFEST_SCHEMA, model: 'tiny', parent: null };
    const cases: [unknown, number, string][] = [
      [{ ...base, files: [{ ...file, path: '../etc/passwd' }] }, 400, '".." segments'],
      [{ ...base, files: [{ ...file, path: '/abs.bin' }] }, 400, 'relative'],
      [{ ...base, files: [{ ...file, path: 'dir\\a.bin' }] }, 400, 'backslash'],
      [{ ...base, files: [file, { ...file }] }, 400, 'duplicate path'],
      [{ ...base, files: [] }, 400, 'at least one file'],
      [{ ...base, schema: 'other/v1', files: [file] }, 400, 'schema'],
      [{ ...base, model: 'Bad Slug', files: [file] }, 400, 'slug'],
      [{ ...base, files: [{ ...file, sha256: 'f'.repeat(64) }] }, 422, 'no uploaded blob'],
      [{ ...base, files: [{ ...file, size: 101 }] }, 422, 'size is 100'],
      [{ ...base, parent: `sha256:${'1'.repeat(64)}`, files: [file] }, 422, 'no manifest with digest'],
    ];
    for (const [m, status, text] of cases) {
      const r = await postManifest(m);
      expect(r.status, JSON.stringify(m)).toBe(status);
      expect(r.body.error.message).toContain(text);
    }
    const notJson = await fetch(`${h.url}/api/manifests`, { method: 'POST', headers: { authorization: await h.auth() }, body: '{"schema":' });
    expect(notJson.status).toBe(400);
  });
});

describe('GET /api/blobs/{sha256}', () => {
  let bytes: Buffer;
  let blobSha: string;
  beforeAll(async () => {
    bytes = randomBytes(2 * MiB + 3);
    blobSha = (await publishedBlob(bytes)).sha256;
  });

  it('serves a published blob with length, ETag, Repr-Digest and CID; pins it', async () => {
    const res = await fetch(`${h.url}/api/blobs/${blobSha}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('etag')).toBe(`"${blobSha}"`);
    expect(res.headers.get('repr-digest')).toBe(`sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('x-ipfs-cid')).toMatch(/^bafy/);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(await getBlob(h.database.db, blobSha)).toMatchObject({ pinned: true, expiresAt: null });
    const head = await fetch(`${h.url}/api/blobs/${blobSha}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    const cached = await fetch(`${h.url}/api/blobs/${blobSha}`, { headers: { 'if-none-match': `"${blobSha}"` } });
    expect(cached.status).toBe(304);
    // shared caches revalidate within a minute, so a revocation (410) reaches consumers behind a proxy
    expect(res.headers.get('cache-control')).toBe('public, max-age=60, must-revalidate');
  });

  async function ranged(range: string, extra: Record<string, string> = {}) {
    const res = await fetch(`${h.url}/api/blobs/${blobSha}`, { headers: { range, ...extra } });
    return { status: res.status, contentRange: res.headers.get('content-range'), body: Buffer.from(await res.arrayBuffer()) };
  }

  it('answers single ranges with 206 and Content-Range', async () => {
    const n = bytes.length;
    const first = await ranged('bytes=0-0');
    expect(first).toMatchObject({ status: 206, contentRange: `bytes 0-0/${n}` });
    expect(first.body.equals(bytes.subarray(0, 1))).toBe(true);
    const middle = await ranged('bytes=1000-1048576');
    expect(middle.contentRange).toBe(`bytes 1000-1048576/${n}`);
    expect(middle.body.equals(bytes.subarray(1000, 1048577))).toBe(true);
    const open = await ranged(`bytes=${n - 5}-`);
    expect(open.body.equals(bytes.subarray(n - 5))).toBe(true);
    const suffix = await ranged('bytes=-7');
    expect(suffix).toMatchObject({ status: 206, contentRange: `bytes ${n - 7}-${n - 1}/${n}` });
    const pastEnd = await ranged(`bytes=${n - 2}-${n + 100}`);
    expect(pastEnd).toMatchObject({ status: 206, contentRange: `bytes ${n - 2}-${n - 1}/${n}` });
    const bigSuffix = await ranged(`bytes=-${n + 10}`);
    expect(bigSuffix.status).toBe(206);
    expect(bigSuffix.body.length).toBe(n);
  });

  it('answers 416 for unsatisfiable ranges and ignores malformed or multiple ranges (full 200)', async () => {
    const n = bytes.length;
    const beyond = await ranged(`bytes=${n}-`);
    expect(beyond).toMatchObject({ status: 416, contentRange: `bytes */${n}` });
    expect((await ranged('bytes=-0')).status).toBe(416);
    for (const r of ['bytes=abc', 'items=0-5', 'bytes=5-2', 'bytes=0-1,4-5', 'bytes=']) {
      const res = await ranged(r);
      expect(res.status, r).toBe(200);
      expect(res.body.length, r).toBe(n);
    }
    const stale = await ranged('bytes=0-9', { 'if-range': '"0000"' });
    expect(stale.status).toBe(200);
    const fresh = await ranged('bytes=0-9', { 'if-range': `"${blobSha}"` });
    expect(fresh.status).toBe(206);
  });

  it('serves unpublished uploads only to their uploader', async () => {
    const bytes = randomBytes(4000);
    const up = await upload(h, bytes);
    expect((await fetch(`${h.url}/api/blobs/${up.body.sha256}`)).status).toBe(404);
    const mine = await fetch(`${h.url}/api/blobs/${up.body.sha256}`, { headers: { authorization: await h.auth(0) } });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('cache-control')).toContain('private');
    expect(Buffer.from(await mine.arrayBuffer()).equals(bytes)).toBe(true);
    // someone else's upload and a blob that does not exist look alike: existence is not revealed
    const unknown = await fetch(`${h.url}/api/blobs/${'e'.repeat(64)}`);
    const othersUpload = await fetch(`${h.url}/api/blobs/${up.body.sha256}`);
    expect([unknown.status, othersUpload.status]).toEqual([404, 404]);
    expect(((await unknown.json()) as any).error.message.replace('e'.repeat(64), 'X')).toBe(
      ((await othersUpload.json()) as any).error.message.replace(up.body.sha256, 'X'),
    );
    const bad = await fetch(`${h.url}/api/blobs/xyz`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('invalid_digest');
    for (const url of [`${h.url}/api/blobs/%zz`, `${h.url}/api/manifests/%zz`]) {
      const r = await fetch(url);
      expect(r.status, url).toBe(400);
      expect(((await r.json()) as any).error.code).toBe('invalid_digest');
    }
  });

  it('asks the access hook for blobs of gated models', async () => {
    const gated = await publishedBlob(randomBytes(5000), 'TokenHolders');
    const seen: bigint[][] = [];
    h.setCheckAccess(async (req, { modelIds }) => {
      seen.push(modelIds);
      if (req.headers.authorization !== 'Bearer good') throw new HttpError(401, 'access_token_required', 'need a token');
    });
    const denied = await fetch(`${h.url}/api/blobs/${gated.sha256}`);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as any).error.code).toBe('access_token_required');
    const allowed = await fetch(`${h.url}/api/blobs/${gated.sha256}`, { headers: { authorization: 'Bearer good' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('cache-control')).toContain('private');
    expect(seen[0]).toEqual([BigInt(gated.modelId)]);
    // the manifest bytes of a gated version go through the same check
    expect((await fetch(`${h.url}/api/blobs/${gated.digest.slice(2)}`)).status).toBe(401);
    // and so does the manifest route once the version is published
    expect((await fetch(`${h.url}/api/manifests/${gated.digest}`)).status).toBe(401);
    const manifest = await fetch(`${h.url}/api/manifests/${gated.digest}`, { headers: { authorization: 'Bearer good' } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('cache-control')).toContain('no-store');
  });

  it('stops serving (410) a blob whose only versions are revoked, but keeps it pinned', async () => {
    const bytes = randomBytes(3000);
    const p = await publishedBlob(bytes);
    await setVersionStatus(h, p.modelId, 'Revoked');
    const res = await fetch(`${h.url}/api/blobs/${p.sha256}`);
    expect(res.status).toBe(410);
    expect(((await res.json()) as any).error.code).toBe('revoked');
    expect(await h.store.has(p.sha256)).toBe(true);
    expect((await getBlob(h.database.db, p.sha256))?.pinned).toBe(true);
    // the same bytes in another, live version are served again
    await indexVersion(h, { manifestDigest: p.digest });
    expect((await fetch(`${h.url}/api/blobs/${p.sha256}`)).status).toBe(200);
  });
});

describe('GET /api/manifests caching follows the blobs (#18)', () => {
  it('an unpublished manifest is never cached as immutable; published public is kept a minute; revoked is 410', async () => {
    const up = await upload(h, randomBytes(2500));
    const m = await postManifest({
      schema: MANIFEST_SCHEMA,
      model: 'tiny',
      parent: null,
      files: [{ path: 'cache.bin', size: up.body.size, sha256: up.body.sha256, cid: up.body.cid }],
    });
    const url = `${h.url}/api/manifests/${m.body.manifestDigest}`;
    // Under vote: readable by voters, but it may yet become a gated or revoked version.
    const staging = await fetch(url);
    expect(staging.status).toBe(200);
    expect(staging.headers.get('cache-control')).toBe('public, no-cache');
    const modelId = await indexVersion(h, { manifestDigest: m.body.manifestDigest });
    const published = await fetch(url);
    expect(published.headers.get('cache-control')).toBe('public, max-age=60, must-revalidate');
    await setVersionStatus(h, modelId, 'Revoked');
    const revoked = await fetch(url);
    expect(revoked.status).toBe(410);
    expect(((await revoked.json()) as any).error.code).toBe('revoked');
    for (const r of [staging, published]) expect(r.headers.get('cache-control')).not.toMatch(/immutable/);
  });
});
