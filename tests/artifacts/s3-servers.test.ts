// Two real server processes (lib/server/start.ts) on one PostgreSQL and one S3 bucket (a throwaway
// OpenStack Swift with s3api), STORE=s3: what one server received, the other serves (whole and by
// range); a resumable upload started on A continues on B; A killed with -9 in the middle of an
// upload leaves nothing under a final key and its restart cleans the incomplete multipart upload;
// `npm run gc -- --delete` deletes an expired blob's object from the bucket.
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/client.ts';
import { S3ArtifactStore } from '../../lib/artifacts/s3-store.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startSwift, type TestSwift } from '../helpers/swift.ts';
import { startServerProcess, startUploadChain, tempDir, type ServerProcess, type UploadChain } from '../helpers/server-process.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;
const PREFIX = 'cluster/';

let swift: TestSwift;
let pg: TestPostgres;
let chain: UploadChain;
let a: ServerProcess;
let b: ServerProcess;
let env: Record<string, string>;
let observer: S3ArtifactStore;
let db: Database;

beforeAll(async () => {
  [swift, pg, chain] = await Promise.all([startSwift(), startPostgres(), startUploadChain()]);
  env = {
    DATABASE_URL: pg.url,
    STORE: 's3',
    S3_BUCKET: swift.bucket!,
    S3_PREFIX: PREFIX,
    S3_ENDPOINT: swift.endpoint,
    S3_REGION: swift.region,
    S3_ACCESS_KEY_ID: swift.accessKeyId,
    S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
  };
  a = await startServerProcess({ chain, dataDir: tempDir('modeldao-s3-a-'), env });
  b = await startServerProcess({ chain, dataDir: tempDir('modeldao-s3-b-'), env });
  observer = await S3ArtifactStore.open({
    bucket: swift.bucket!,
    prefix: PREFIX,
    endpoint: swift.endpoint,
    region: swift.region,
    accessKeyId: swift.accessKeyId,
    secretAccessKey: swift.secretAccessKey,
    skipSweep: true,
  });
  db = await openDatabase({ DATABASE_URL: pg.url, pgliteDir: '' });
});
afterAll(async () => {
  observer?.close();
  await db?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await chain?.stop();
  await Promise.all([pg?.stop(), swift?.stop()]);
});

async function post(server: ServerProcess, bytes: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: await chain.auth(), 'content-type': 'application/octet-stream', ...headers },
    body: bytes as unknown as BodyInit,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function getBlob(server: ServerProcess, sha256: string, range?: string) {
  const res = await fetch(`${server.url}/api/blobs/${sha256}`, { headers: { authorization: await chain.auth(), ...(range ? { range } : {}) } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

describe('two app servers on one PostgreSQL and one S3 bucket (Swift s3api)', () => {
  it('serves from B what A received, whole and by range', async () => {
    for (const [bytes, headers] of [
      [randomBytes(13 * MiB + 7), {}],
      [randomBytes(100_000), {}],
    ] as const) {
      const up = await post(a, bytes, headers);
      expect(up.status).toBe(201);
      expect(up.body).toMatchObject({ sha256: sha(bytes), size: bytes.length });
      const whole = await getBlob(b, sha(bytes));
      expect(whole.status).toBe(200);
      expect(whole.bytes.equals(bytes)).toBe(true);
      expect(whole.headers.get('x-ipfs-cid')).toBe(up.body.cid);
      const [start, end] = [Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3)];
      const part = await getBlob(b, sha(bytes), `bytes=${start}-${end}`);
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
      expect(part.bytes.equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    // an announced upload of the same bytes on B: stored once
    const bytes = randomBytes(9 * MiB);
    const first = await post(a, bytes, { 'x-expected-sha256': sha(bytes) });
    const second = await post(b, bytes, { 'x-expected-sha256': sha(bytes) });
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(await observer.leftovers()).toEqual([]);
  });

  it('continues on server B a resumable upload started on server A', async () => {
    const bytes = randomBytes(21 * MiB + 3);
    const auth = await chain.auth();
    const created = await fetch(`${a.url}/api/uploads/sessions`, {
      method: 'POST',
      headers: { authorization: auth, 'upload-length': String(bytes.length), 'x-expected-sha256': sha(bytes) },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const patch = (server: ServerProcess, offset: number, body: Uint8Array) =>
      fetch(`${server.url}/api/uploads/sessions/${id}`, {
        method: 'PATCH',
        headers: { authorization: auth, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
        body: body as unknown as BodyInit,
      });
    const first = await patch(a, 0, bytes.subarray(0, 10 * MiB + 1));
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe(String(10 * MiB + 1));
    // B knows the offset A reached, and refuses a stale one
    const probe = await fetch(`${b.url}/api/uploads/sessions/${id}`, { method: 'HEAD', headers: { authorization: auth } });
    expect(probe.headers.get('upload-offset')).toBe(String(10 * MiB + 1));
    const stale = await patch(b, 0, bytes.subarray(0, 10));
    expect(stale.status).toBe(409);
    expect(stale.headers.get('upload-offset')).toBe(String(10 * MiB + 1));
    const last = await patch(b, 10 * MiB + 1, bytes.subarray(10 * MiB + 1));
    expect(last.status).toBe(201);
    expect(await last.json()).toMatchObject({ sha256: sha(bytes), size: bytes.length });
    const back = await getBlob(a, sha(bytes));
    expect(back.bytes.equals(bytes)).toBe(true);
    // the session's spans are gone from the bucket once they became the blob
    const keys: string[] = [];
    for await (const k of observer.keysUnder(`${PREFIX}sessions/`)) keys.push(k);
    expect(keys).toEqual([]);
  });

  it('kill -9 of A mid-upload: nothing under a final key; the restarted A aborts the incomplete multipart upload; B kept working', async () => {
    const before = new Set<string>();
    for await (const s of observer.list()) before.add(s);
    const auth = await chain.auth();
    // an upload that streams slowly and never ends
    const req = http.request(`${a.url}/api/uploads`, { method: 'POST', headers: { authorization: auth, 'content-length': String(64 * MiB) } });
    req.on('error', () => {});
    const chunk = randomBytes(MiB);
    let stop = false;
    void (async () => {
      for (let i = 0; i < 60 && !stop; i++) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (const end = Date.now() + 120_000; ;) {
      const page = await observer.client.send(new ListMultipartUploadsCommand({ Bucket: observer.bucket, Prefix: PREFIX }));
      if ((page.Uploads ?? []).length > 0) break;
      if (Date.now() > end) throw new Error('the upload never reached the bucket');
      await new Promise((r) => setTimeout(r, 50));
    }
    await a.kill9();
    stop = true;
    req.destroy();
    const after: string[] = [];
    for await (const s of observer.list()) if (!before.has(s)) after.push(s);
    expect(after).toEqual([]);
    expect((await observer.leftovers()).length).toBeGreaterThan(0);
    // B is unaffected
    const bytes = randomBytes(2 * MiB);
    expect((await post(b, bytes)).status).toBe(201);
    // restart A; its start-up sweep removes orphans older than S3_ORPHAN_AGE_SECONDS (0 here)
    a = await startServerProcess({ chain, dataDir: tempDir('modeldao-s3-a-'), env: { ...env, S3_ORPHAN_AGE_SECONDS: '0' } });
    expect(await observer.leftovers()).toEqual([]);
    expect(await observer.verifyAll()).toMatchObject({ bad: [] });
  });

  it('npm run gc -- --delete deletes an expired blob from the bucket', async () => {
    const bytes = randomBytes(3000);
    const up = await post(a, bytes);
    expect(up.status).toBe(201);
    expect(await observer.has(sha(bytes))).toBe(true);
    await db.db.execute(sql`update blob set expires_at = now() - interval '1 hour' where sha256 = ${sha(bytes)}`);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/gc.ts', '--delete'], {
      env: { ...process.env, ...env, MODELDAO_DATA_DIR: tempDir('modeldao-s3-gc-') },
    });
    expect(stdout).toContain(`delete ${sha(bytes)}`);
    expect(await observer.has(sha(bytes))).toBe(false);
    expect((await getBlob(b, sha(bytes))).status).toBe(404);
  });
});
