// The trustless gateway (GET/HEAD /ipfs/{cid}) against the spec, on the real upload/manifest routes,
// a real anvil deploy and PGlite (tests/artifacts/harness.ts). CARs are read with @ipld/car and
// every block is checked against its CID here, independently of the server.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarBlockIterator } from '@ipld/car';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2';
import * as Digest from 'multiformats/hashes/digest';
import { syncPins } from '../../lib/artifacts/catalog.ts';
import { MANIFEST_SCHEMA } from '../../lib/manifest/index.ts';
import { backfillDags } from '../../lib/ipfs/dag.ts';
import { HttpError } from '../../lib/server/http.ts';
import { indexVersion, setVersionStatus, startHarness, upload, type Harness } from '../artifacts/harness.ts';

const MiB = 1024 * 1024;
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 120_000);
afterAll(async () => h?.close());

async function postManifest(files: { path: string; up: { size: number; sha256: string; cid: string } }[], model = 'tiny') {
  const res = await fetch(`${h.url}/api/manifests`, {
    method: 'POST',
    headers: { authorization: await h.auth(), 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: MANIFEST_SCHEMA,
      model,
      parent: null,
      files: files.map((f) => ({ path: f.path, size: f.up.size, sha256: f.up.sha256, cid: f.up.cid })),
    }),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as { manifestDigest: string; cid: string; size: number };
}

/** Uploads `bytes`, puts them in a manifest and indexes a version of it (status/access as given). */
async function published(bytes: Buffer, o: { accessKind?: 'Public' | 'TokenHolders'; status?: 'Active' | 'Revoked' } = {}) {
  const up = (await upload(h, bytes)).body as { size: number; sha256: string; cid: string };
  const m = await postManifest([{ path: 'w.bin', up }]);
  const modelId = await indexVersion(h, { manifestDigest: m.manifestDigest, accessKind: o.accessKind ?? 'Public', status: o.status ?? 'Active' });
  await syncPins(h.database.db, h.chain.deployment.chainId);
  return { ...up, manifest: m, modelId };
}

async function verifyBlock(cid: CID, bytes: Uint8Array) {
  expect(cid.multihash.code).toBe(sha256Hasher.code);
  const d = await sha256Hasher.digest(bytes);
  expect(Buffer.from(d.digest).equals(Buffer.from(cid.multihash.digest)), `block ${cid} hashes to its CID`).toBe(true);
}

async function readCar(res: Response) {
  const it = await CarBlockIterator.fromIterable(
    (async function* () {
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) yield c;
    })(),
  );
  const blocks: { cid: CID; bytes: Uint8Array }[] = [];
  for await (const b of it) {
    await verifyBlock(b.cid, b.bytes);
    blocks.push({ cid: b.cid, bytes: b.bytes });
  }
  return { roots: await it.getRoots(), blocks };
}

const raw = (cid: string, init: RequestInit = {}) => fetch(`${h.url}/ipfs/${cid}?format=raw`, init);
const car = (cid: string, q = '', init: RequestInit = {}) => fetch(`${h.url}/ipfs/${cid}?format=car${q}`, init);

describe('GET /ipfs/{cid}: raw blocks', () => {
  let file: Awaited<ReturnType<typeof published>>;
  let bytes: Buffer;
  beforeAll(async () => {
    bytes = crypto.randomBytes(5 * MiB + 123);
    file = await published(bytes);
  }, 60_000);

  it('serves the root node and every leaf; each body hashes to its CID; headers as the spec gives them', async () => {
    const res = await raw(file.cid);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.ipld.raw');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${file.cid}.bin"`);
    expect(res.headers.get('etag')).toBe(`"${file.cid}.raw"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=29030400, immutable');
    const root = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(root.byteLength);
    const rootCid = CID.parse(file.cid);
    await verifyBlock(rootCid, root);
    const node = dagPb.decode(root);
    expect(node.Links).toHaveLength(6);
    const parts: Buffer[] = [];
    for (const link of node.Links) {
      const r = await raw(link.Hash.toString());
      expect(r.status).toBe(200);
      const b = new Uint8Array(await r.arrayBuffer());
      await verifyBlock(link.Hash, b);
      parts.push(Buffer.from(b));
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it('leaves and CARs sent from reused buffers stay right under concurrency, with clients that go away mid-body', async () => {
    const node = dagPb.decode(new Uint8Array(await (await raw(file.cid)).arrayBuffer()));
    const leaves = node.Links.map((l) => l.Hash);
    const cut = async () => {
      // read a little of a CAR, then go away: its buffers must not come back while still queued
      const ac = new AbortController();
      const res = await car(file.cid, '', { signal: ac.signal });
      const r = res.body!.getReader();
      await r.read();
      ac.abort();
      await r.read().catch(() => undefined);
    };
    for (let round = 0; round < 3; round++) {
      const jobs: Promise<unknown>[] = [];
      // raw blocks while the CARs' writes wait in their sockets: they must not get the CARs' buffers
      const rawBlocks = async () => {
        await new Promise((r) => setTimeout(r, 100));
        const all = Array.from({ length: 4 }, () =>
          leaves.map((cid) => raw(cid.toString()).then(async (res) => verifyBlock(cid, new Uint8Array(await res.arrayBuffer())))),
        );
        await Promise.all(all.flat());
      };
      jobs.push(rawBlocks());
      for (let k = 0; k < 3; k++) {
        jobs.push(
          car(file.cid).then(async (res) => {
            // a slow reader: the server's writes queue up behind a full socket meanwhile
            await new Promise((r) => setTimeout(r, 300));
            const { blocks } = await readCar(res);
            const got = Buffer.concat(blocks.filter((b) => b.cid.code === 0x55).map((b) => b.bytes));
            expect(got.equals(bytes)).toBe(true);
          }),
        );
        jobs.push(cut());
      }
      await Promise.all(jobs);
    }
  });

  it('takes the format from Accept when ?format is absent (with Content-Location), and ?format wins over Accept', async () => {
    const byAccept = await fetch(`${h.url}/ipfs/${file.cid}`, { headers: { accept: 'application/vnd.ipld.raw' } });
    expect(byAccept.status).toBe(200);
    expect(byAccept.headers.get('content-type')).toBe('application/vnd.ipld.raw');
    expect(byAccept.headers.get('content-location')).toBe(`/ipfs/${file.cid}?format=raw`);
    const formatWins = await raw(file.cid, { headers: { accept: 'application/vnd.ipld.car' } });
    expect(formatWins.headers.get('content-type')).toBe('application/vnd.ipld.raw');
    const carWins = await car(file.cid, '', { headers: { accept: 'application/vnd.ipld.raw' } });
    expect(carWins.headers.get('content-type')).toMatch(/^application\/vnd\.ipld\.car; version=1/);
    await carWins.arrayBuffer();
    // q-values: the client prefers CAR
    const q = await fetch(`${h.url}/ipfs/${file.cid}`, { headers: { accept: 'application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car' } });
    expect(q.headers.get('content-type')).toMatch(/vnd\.ipld\.car/);
    await q.arrayBuffer();
  });

  it('400 with a JSON error when no acceptable format is asked for', async () => {
    for (const init of [
      {},
      { headers: { accept: '*/*' } },
      { headers: { accept: 'text/html' } },
      { headers: { accept: 'application/vnd.ipld.car; version=2' } },
    ]) {
      const res = await fetch(`${h.url}/ipfs/${file.cid}`, init);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toMatch(/no_acceptable_format|unsupported_car_version/);
    }
    const badFormat = await fetch(`${h.url}/ipfs/${file.cid}?format=tar`);
    expect(badFormat.status).toBe(400);
    expect(((await badFormat.json()) as any).error.code).toBe('unsupported_format');
    const badScope = await car(file.cid, '&dag-scope=everything');
    expect(badScope.status).toBe(400);
    const pathOnRaw = await fetch(`${h.url}/ipfs/${file.cid}/x?format=raw`);
    expect(pathOnRaw.status).toBe(400);
    const pathOnCar = await fetch(`${h.url}/ipfs/${file.cid}/x?format=car`);
    expect(pathOnCar.status).toBe(404);
  });

  it('HEAD: the same headers, no body', async () => {
    const res = await raw(file.cid, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${file.cid}.raw"`);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const headCar = await car(file.cid, '', { method: 'HEAD' });
    expect(headCar.status).toBe(200);
    expect(headCar.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n');
  });

  it('ETag + If-None-Match → 304 (raw and CAR, the ETag names format and CAR parameters)', async () => {
    const first = await raw(file.cid);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    const again = await raw(file.cid, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const c = await car(file.cid, '&dag-scope=block');
    const carEtag = c.headers.get('etag')!;
    await c.arrayBuffer();
    expect(carEtag).not.toBe(etag);
    expect(carEtag).toContain('block');
    expect((await car(file.cid, '&dag-scope=block', { headers: { 'if-none-match': carEtag } })).status).toBe(304);
    const other = await car(file.cid, '&dag-scope=all', { headers: { 'if-none-match': carEtag } });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it('404 for a CID it does not hold (412 with only-if-cached), 400 for a malformed CID', async () => {
    const unknown = CID.createV1(0x55, await sha256Hasher.digest(Buffer.from('not stored'))).toString();
    const res = await raw(unknown);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('block_not_found');
    expect((await raw(unknown, { headers: { 'cache-control': 'only-if-cached' } })).status).toBe(412);
    expect((await raw(unknown, { method: 'HEAD' })).status).toBe(404);
    const bad = await raw('bafy-not-a-cid');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('invalid_cid');
  });

  it('the manifest is a block: CIDv1(raw, sha2-256, on-chain digest) serves its canonical bytes', async () => {
    const manifestCid = CID.createV1(0x55, Digest.create(0x12, Buffer.from(file.manifest.manifestDigest.slice(2), 'hex')));
    expect(file.manifest.cid).toBe(manifestCid.toString());
    const res = await raw(manifestCid.toString());
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    await verifyBlock(manifestCid, body);
    expect(JSON.parse(Buffer.from(body).toString()).files[0].cid).toBe(file.cid);
  });
});

describe('GET /ipfs/{cid}: CAR', () => {
  it('dag-scope=all (default) and entity: header roots = the CID, DFS order, every block verifies, leaves rebuild the file', async () => {
    const bytes = crypto.randomBytes(3 * MiB + 5);
    const f = await published(bytes);
    for (const q of ['', '&dag-scope=all', '&dag-scope=entity']) {
      const res = await car(f.cid, q);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${f.cid}.car"`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const { roots, blocks } = await readCar(res);
      expect(roots.map(String)).toEqual([f.cid]);
      expect(blocks[0]!.cid.toString()).toBe(f.cid);
      expect(blocks).toHaveLength(1 + 4);
      expect(Buffer.concat(blocks.slice(1).map((b) => b.bytes)).equals(bytes)).toBe(true);
    }
  });

  it('an IPFS tool modeldao did not write (the ipfs-car CLI, --verify) unpacks our CAR into the original bytes', async () => {
    const bytes = crypto.randomBytes(2 * MiB + 999);
    const f = await published(bytes);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-ipfscar-'));
    try {
      const carFile = path.join(dir, 'w.car');
      fs.writeFileSync(carFile, Buffer.from(await (await car(f.cid)).arrayBuffer()));
      const out = path.join(dir, 'w.bin');
      execFileSync(process.execPath, [path.join('node_modules', 'ipfs-car', 'bin.js'), 'unpack', carFile, '--output', out], { stdio: 'pipe' });
      expect(fs.readFileSync(out).equals(bytes)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dag-scope=block: only the root block', async () => {
    const f = await published(crypto.randomBytes(2 * MiB + 1));
    const { blocks } = await readCar(await car(f.cid, '&dag-scope=block'));
    expect(blocks.map((b) => b.cid.toString())).toEqual([f.cid]);
  });

  it('a single-block file and a leaf: CAR of one raw block', async () => {
    const small = crypto.randomBytes(1000);
    const f = await published(small);
    expect(CID.parse(f.cid).code).toBe(0x55);
    const { blocks } = await readCar(await car(f.cid));
    expect(blocks).toHaveLength(1);
    expect(Buffer.from(blocks[0]!.bytes).equals(small)).toBe(true);
  });

  it('entity-bytes: only the root and the leaves overlapping the range (negative from the end, * for the end), an ETag per range, 400 past the end', async () => {
    const bytes = crypto.randomBytes(5 * MiB + 77);
    const f = await published(bytes);
    const leavesOf = async (q: string) => {
      const res = await car(f.cid, q);
      expect(res.status, q).toBe(200);
      const { blocks } = await readCar(res);
      expect(blocks[0]!.cid.toString(), q).toBe(f.cid); // the root first: the client verifies the path
      return { res, leaves: blocks.slice(1) };
    };
    // bytes 1.5 MiB .. 3 MiB: leaves 1 and 2 (each whole: a leaf is verified as a block)
    const mid = await leavesOf(`&dag-scope=entity&entity-bytes=${1.5 * MiB}:${3 * MiB - 1}`);
    expect(Buffer.concat(mid.leaves.map((b) => b.bytes)).equals(bytes.subarray(MiB, 3 * MiB))).toBe(true);
    expect(mid.res.headers.get('etag')).toBe(`"${f.cid}.car.v1.dfs.dups-n.entity.bytes-${1.5 * MiB}:${3 * MiB - 1}"`);
    // implied dag-scope; one byte into the last leaf; the whole file
    const last = await leavesOf(`&entity-bytes=-1:*`);
    expect(Buffer.concat(last.leaves.map((b) => b.bytes)).equals(bytes.subarray(5 * MiB))).toBe(true);
    const all = await leavesOf(`&entity-bytes=0:*`);
    expect(Buffer.concat(all.leaves.map((b) => b.bytes)).equals(bytes)).toBe(true);
    // `to` past the end is cut at the end; to before from: the root alone (dag-scope=block)
    const tail = await leavesOf(`&entity-bytes=${4 * MiB}:${100 * MiB}`);
    expect(Buffer.concat(tail.leaves.map((b) => b.bytes)).equals(bytes.subarray(4 * MiB))).toBe(true);
    expect((await leavesOf(`&entity-bytes=${2 * MiB}:${MiB}`)).leaves).toHaveLength(0);
    // refused: past the end, malformed, with raw, with another dag-scope
    for (const q of [`&entity-bytes=${6 * MiB}:*`, '&entity-bytes=1-2', '&entity-bytes=a:*', '&dag-scope=all&entity-bytes=0:*']) {
      expect((await car(f.cid, q)).status, q).toBe(400);
    }
    expect((await fetch(`${h.url}/ipfs/${f.cid}?format=raw&entity-bytes=0:*`)).status).toBe(400);
    // a repeated chunk inside the range comes once with dups=n, at each place with dups=y
    const zero = Buffer.alloc(MiB);
    const rep = Buffer.concat([crypto.randomBytes(MiB), zero, zero, zero, crypto.randomBytes(9)]);
    const g = await published(rep);
    const n = await readCar(await car(g.cid, `&entity-bytes=${MiB}:${4 * MiB - 1}`));
    expect(n.blocks.length).toBe(1 + 1);
    const y = await readCar(await car(g.cid, `&entity-bytes=${MiB}:${4 * MiB - 1}&car-dups=y`));
    expect(Buffer.concat(y.blocks.slice(1).map((b) => b.bytes)).equals(rep.subarray(MiB, 4 * MiB))).toBe(true);
  });

  it('dups=n sends a repeated chunk once, dups=y every time (Accept parameter or car-dups query)', async () => {
    const zero = Buffer.alloc(MiB);
    const bytes = Buffer.concat([zero, crypto.randomBytes(MiB), zero, zero, crypto.randomBytes(10)]);
    const f = await published(bytes);
    const zeroCid = CID.createV1(0x55, await sha256Hasher.digest(zero)).toString();
    const count = (blocks: { cid: CID }[]) => blocks.filter((b) => b.cid.toString() === zeroCid).length;

    const n = await readCar(await car(f.cid));
    expect(count(n.blocks)).toBe(1);
    expect(n.blocks).toHaveLength(1 + 3);

    const yRes = await fetch(`${h.url}/ipfs/${f.cid}`, { headers: { accept: 'application/vnd.ipld.car; version=1; order=dfs; dups=y' } });
    expect(yRes.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=y');
    const y = await readCar(yRes);
    expect(count(y.blocks)).toBe(3);
    expect(Buffer.concat(y.blocks.slice(1).map((b) => b.bytes)).equals(bytes)).toBe(true);

    const q = await car(f.cid, '&car-dups=y');
    expect(q.headers.get('content-type')).toContain('dups=y');
    expect(count((await readCar(q)).blocks)).toBe(3);
  });

  it('every CAR declares its exact length up front (Content-Length on GET and HEAD, no chunked framing)', async () => {
    const zero = Buffer.alloc(MiB);
    const bytes = Buffer.concat([zero, crypto.randomBytes(MiB), zero, zero, crypto.randomBytes(10)]);
    const f = await published(bytes);
    const leaf = await published(crypto.randomBytes(1000));
    const cases: [string, string][] = [
      [f.cid, ''],
      [f.cid, '&car-dups=y'],
      [f.cid, '&dag-scope=block'],
      [f.cid, `&entity-bytes=${MiB}:${3 * MiB - 1}`],
      [f.cid, `&entity-bytes=${MiB}:${3 * MiB - 1}&car-dups=y`],
      [f.cid, `&entity-bytes=${2 * MiB}:${MiB}`],
      [leaf.cid, ''],
      ['bafkqaaa', ''],
    ];
    for (const [cid, q] of cases) {
      const res = await car(cid, q);
      expect(res.status, q).toBe(200);
      expect(res.headers.get('transfer-encoding'), q).toBeNull();
      const declared = Number(res.headers.get('content-length'));
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length, `${cid}${q}`).toBe(declared);
      // the declared bytes are a whole CAR whose blocks all verify (nothing cut, nothing left over)
      await readCar(new Response(body));
      expect(Number((await car(cid, q, { method: 'HEAD' })).headers.get('content-length')), q).toBe(declared);
    }
  });

  it('the probe CID bafkqaaa: raw → 200 empty; CAR → roots [bafkqaaa], no blocks; HEAD → 200', async () => {
    const r = await raw('bafkqaaa');
    expect(r.status).toBe(200);
    expect((await r.arrayBuffer()).byteLength).toBe(0);
    const c = await car('bafkqaaa');
    expect(c.status).toBe(200);
    const { roots, blocks } = await readCar(c);
    expect(roots.map(String)).toEqual(['bafkqaaa']);
    expect(blocks).toHaveLength(0);
    expect((await raw('bafkqaaa', { method: 'HEAD' })).status).toBe(200);
  });
});

describe('GET /ipfs/{cid}: access rules of /api/blobs', () => {
  it('gated: 401 without a token, served with one (private cache)', async () => {
    const f = await published(crypto.randomBytes(1500), { accessKind: 'TokenHolders' });
    h.setCheckAccess(async (req) => {
      if (req.headers.authorization !== 'Bearer good') throw new HttpError(401, 'access_token_required', 'needs a token');
    });
    try {
      const denied = await raw(f.cid);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as any).error.code).toBe('access_token_required');
      const ok = await raw(f.cid, { headers: { authorization: 'Bearer good' } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('cache-control')).toBe('private, no-cache');
      await verifyBlock(CID.parse(f.cid), new Uint8Array(await ok.arrayBuffer()));
      expect((await car(f.cid)).status).toBe(401);
    } finally {
      h.setCheckAccess(async () => {
        throw new HttpError(401, 'access_token_required', 'gated');
      });
    }
  });

  it('revoked: 410 (within the 2 s status cache)', async () => {
    const f = await published(crypto.randomBytes(2 * MiB + 3));
    expect((await raw(f.cid)).status).toBe(200);
    await setVersionStatus(h, f.modelId, 'Revoked');
    // the gateway re-reads a blob's status at most every 2 s (lib/server/ipfs-access.ts): poll until then
    const t0 = Date.now();
    let res = await raw(f.cid);
    while (res.status === 200 && Date.now() - t0 < 5000) {
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
      res = await raw(f.cid);
    }
    expect(res.status).toBe(410);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(((await res.json()) as any).error.code).toBe('revoked');
    expect((await car(f.cid)).status).toBe(410);
  });

  it('unpublished: 404 to anyone, served to its uploader only (no-store)', async () => {
    const bytes = crypto.randomBytes(4000);
    const up = (await upload(h, bytes)).body as { cid: string };
    expect((await raw(up.cid)).status).toBe(404);
    // another account: exactly what /api/blobs answers it (403 here: no voting power to upload)
    const otherAuth = await h.auth(1);
    const other = await raw(up.cid, { headers: { authorization: otherAuth } });
    expect(other.status).not.toBe(200);
    expect(other.status).toBe((await fetch(`${h.url}/api/blobs/${(up as any).sha256}`, { headers: { authorization: otherAuth } })).status);
    const mine = await raw(up.cid, { headers: { authorization: await h.auth(0) } });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('cache-control')).toBe('private, no-store');
    expect(Buffer.from(await mine.arrayBuffer()).equals(bytes)).toBe(true);
  });
});

describe('block index backfill', () => {
  it('blobs stored before the index get their nodes and leaves in one pass, and are served again', async () => {
    const bytes = crypto.randomBytes(3 * MiB + 77);
    const f = await published(bytes);
    // as if stored before this change: no index rows
    await h.database.db.execute(sql`delete from ipfs_block where blob_sha256 = ${f.sha256}`);
    await h.database.db.execute(sql`delete from ipfs_dag where blob_sha256 = ${f.sha256}`);
    await h.database.db.execute(sql`delete from ipfs_block where blob_sha256 = ${f.manifest.manifestDigest.slice(2)}`);
    await h.database.db.execute(sql`delete from ipfs_dag where blob_sha256 = ${f.manifest.manifestDigest.slice(2)}`);
    expect((await raw(f.cid)).status).toBe(404);
    expect((await raw(f.manifest.cid)).status).toBe(404);

    const r = await backfillDags(h.database.db, h.store);
    expect(r.indexed).toBe(2);
    expect(r.failed).toEqual([]);
    const { blocks } = await readCar(await car(f.cid));
    expect(Buffer.concat(blocks.slice(1).map((b) => b.bytes)).equals(bytes)).toBe(true);
    expect((await raw(f.manifest.cid)).status).toBe(200);
    // idempotent: nothing left to do
    expect((await backfillDags(h.database.db, h.store)).indexed).toBe(0);
  });
});
