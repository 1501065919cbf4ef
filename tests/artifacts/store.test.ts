// The artifact store's guarantees, run against both backends: the local disk store and the S3 store
// on a throwaway OpenStack Swift (s3api). Backend-specific behaviour (O_DIRECT, temp files of dead
// pids; orphaned multipart uploads, multipart copy, kill -9 mid-upload) is tested per backend below.
import { randomBytes, createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore, StoreError, type ArtifactStore } from '../../lib/artifacts/index.ts';
import { S3ArtifactStore, type S3StoreOptions } from '../../lib/artifacts/s3-store.ts';
import { startSwift, type TestSwift } from '../helpers/swift.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

function pieces(bytes: Uint8Array, size = 65_537): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.byteLength; i += size) parts.push(Buffer.from(bytes.subarray(i, i + size)));
  return Readable.from(parts);
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listAll(store: ArtifactStore): Promise<string[]> {
  const listed: string[] = [];
  for await (const name of store.list()) listed.push(name);
  return listed;
}

/** What each backend must provide for the shared suite. */
interface Backend {
  store: ArtifactStore & { verifyAll(): Promise<{ checked: number; bad: string[] }> };
  /** Temp files / temp keys / incomplete multipart uploads left behind. */
  leftovers(): Promise<string[]>;
  /** The bytes under the blob's final name, read around the store (null when absent). */
  raw(sha256: string): Promise<Buffer | null>;
}

let swift: TestSwift;
let prefixes = 0;
const backends: { name: string; open(): Promise<Backend>; close(b: Backend): Promise<void> }[] = [
  {
    name: 'local',
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-store-'));
      const store = await LocalArtifactStore.open(dir);
      return {
        store,
        leftovers: async () => fs.readdirSync(path.join(dir, 'tmp')),
        raw: async (s) => (fs.existsSync(store.blobPath(s)) ? fs.readFileSync(store.blobPath(s)) : null),
      };
    },
    async close(b) {
      fs.rmSync((b.store as LocalArtifactStore).root, { recursive: true, force: true });
    },
  },
  {
    name: 'S3 (Swift s3api)',
    async open() {
      const store = await s3Store(`t${++prefixes}/`);
      return {
        store,
        leftovers: () => store.leftovers(),
        raw: async (s) => {
          try {
            const r = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: store.blobKey(s) }));
            return Buffer.from(await r.Body!.transformToByteArray());
          } catch (err) {
            if ((err as { name?: string }).name === 'NoSuchKey') return null;
            throw err;
          }
        },
      };
    },
    async close(b) {
      (b.store as S3ArtifactStore).close();
    },
  },
];

function s3Store(prefix: string, extra: Partial<S3StoreOptions> = {}) {
  return S3ArtifactStore.open({
    bucket: swift.bucket!,
    prefix,
    endpoint: swift.endpoint,
    region: swift.region,
    accessKeyId: swift.accessKeyId,
    secretAccessKey: swift.secretAccessKey,
    ...extra,
  });
}

beforeAll(async () => {
  swift = await startSwift();
});
afterAll(async () => {
  await swift?.stop();
});

describe.each(backends)('artifact store: $name', (backend) => {
  let b: Backend;
  let store: Backend['store'];
  beforeEach(async () => {
    b = await backend.open();
    store = b.store;
  });
  afterEach(async () => {
    await backend.close(b);
  });

  it('stores bytes under their sha256 and reads them back whole or by range', async () => {
    const bytes = randomBytes(9 * MiB + 123);
    const put = await store.put(pieces(bytes));
    expect(put).toMatchObject({ sha256: sha(bytes), size: bytes.byteLength, created: true });
    expect(put.cid).toMatch(/^bafy/);
    expect(await store.has(put.sha256)).toBe(true);
    expect(await store.stat(put.sha256)).toEqual({ sha256: put.sha256, size: bytes.byteLength, cid: put.cid });
    expect((await readAll(store.createReadStream(put.sha256))).equals(bytes)).toBe(true);
    const part = await readAll(store.createReadStream(put.sha256, { start: 100, end: 4_200_000 }));
    expect(part.equals(bytes.subarray(100, 4_200_001))).toBe(true);
    const tail = await readAll(store.createReadStream(put.sha256, { start: bytes.length - 1, end: bytes.length - 1 }));
    expect(tail.equals(bytes.subarray(-1))).toBe(true);
    expect(await b.leftovers()).toEqual([]);
    expect(await store.verifyAll()).toEqual({ checked: 1, bad: [] });
  });

  it('stores every size around the slot and part boundaries, with and without an announced sha256', async () => {
    for (const size of [0, 1, 4095, 4 * MiB, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 17 * MiB + 4097]) {
      const bytes = randomBytes(size);
      const a = await store.put(pieces(bytes, 100_003));
      expect(a, `${size} bytes`).toMatchObject({ sha256: sha(bytes), size, created: true });
      expect((await b.raw(a.sha256))?.equals(bytes), `${size} bytes stored`).toBe(true);
      expect(await store.delete(a.sha256)).toBe(true);
      const e = await store.put(pieces(bytes, 65_536), { expectedSha256: sha(bytes) });
      expect(e).toEqual(a);
      expect((await b.raw(e.sha256))?.equals(bytes), `${size} bytes stored (announced)`).toBe(true);
      expect((await store.stat(e.sha256))?.cid).toBe(a.cid);
    }
    expect(await b.leftovers()).toEqual([]);
  });

  it('stores a zero-byte file', async () => {
    const put = await store.put(Readable.from([]));
    expect(put).toMatchObject({ size: 0, sha256: sha(new Uint8Array()), created: true });
    expect(put.cid).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    expect((await readAll(store.createReadStream(put.sha256))).length).toBe(0);
  });

  it('stores identical bytes once, also when uploaded concurrently', async () => {
    for (const [size, announced] of [
      [5 * MiB, false],
      [12 * MiB, false],
      [12 * MiB, true],
    ] as const) {
      const bytes = randomBytes(size);
      const results = await Promise.all([1, 2, 3, 4].map((n) => store.put(pieces(bytes, 10_000 * n), announced ? { expectedSha256: sha(bytes) } : {})));
      expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha(bytes)]));
      expect(new Set(results.map((r) => r.cid)).size).toBe(1);
      expect(results.some((r) => r.created)).toBe(true);
      const again = await store.put(pieces(bytes));
      expect(again.created).toBe(false);
      const againAnnounced = await store.put(pieces(bytes), { expectedSha256: sha(bytes) });
      expect(againAnnounced.created).toBe(false);
      expect((await b.raw(sha(bytes)))?.equals(bytes)).toBe(true);
      expect(await listAll(store)).toEqual([sha(bytes)]);
      expect(await b.leftovers()).toEqual([]);
      await store.delete(sha(bytes));
    }
  });

  it('rejects bytes whose sha256 differs from the expected one and keeps nothing', async () => {
    for (const size of [MiB, 20 * MiB]) {
      const bytes = randomBytes(size);
      const err = await store.put(pieces(bytes), { expectedSha256: 'ab'.repeat(32) }).catch((e) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(err.code).toBe('hash_mismatch');
      expect(await store.has(sha(bytes))).toBe(false);
      expect(await store.has('ab'.repeat(32))).toBe(false);
      expect(await b.raw('ab'.repeat(32))).toBeNull();
      expect(await b.leftovers()).toEqual([]);
      const ok = await store.put(pieces(bytes), { expectedSha256: sha(bytes).toUpperCase() });
      expect(ok.sha256).toBe(sha(bytes));
    }
  });

  it('aborts an upload above the size limit and keeps nothing', async () => {
    const bytes = randomBytes(19 * MiB);
    const err = await store.put(pieces(bytes), { maxBytes: 18 * MiB }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe('too_large');
    expect(await b.leftovers()).toEqual([]);
    expect(await listAll(store)).toEqual([]);
  });

  it('keeps nothing when the source fails midway (client gone)', async () => {
    for (const expectedSha256 of [undefined, 'cd'.repeat(32)]) {
      async function* failing() {
        yield randomBytes(20 * MiB);
        throw new Error('socket hang up');
      }
      await expect(store.put(failing(), { expectedSha256 })).rejects.toThrow('socket hang up');
      expect(await b.leftovers()).toEqual([]);
      expect(await listAll(store)).toEqual([]);
    }
  });

  it('keeps nothing when the pre-commit check refuses the file', async () => {
    for (const size of [1000, 10 * MiB]) {
      const bytes = randomBytes(size);
      await expect(
        store.put(pieces(bytes), {
          beforeCommit: () => {
            throw new Error('not safetensors');
          },
        }),
      ).rejects.toThrow('not safetensors');
      expect(await store.has(sha(bytes))).toBe(false);
      expect(await b.leftovers()).toEqual([]);
    }
  });

  it('deletes blobs', async () => {
    const put = await store.put(pieces(randomBytes(10)));
    expect(await store.delete(put.sha256)).toBe(true);
    expect(await store.has(put.sha256)).toBe(false);
    expect(await store.stat(put.sha256)).toBeNull();
    expect(await store.delete(put.sha256)).toBe(false);
    expect(await listAll(store)).toEqual([]);
  });

  it('fails a read of a missing blob with an error, not an empty stream', async () => {
    await expect(readAll(store.createReadStream('ef'.repeat(32)))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('local store only', () => {
  let dir: string;
  let store: LocalArtifactStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-store-'));
    store = await LocalArtifactStore.open(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tmpFiles = () => fs.readdirSync(path.join(dir, 'tmp'));

  it('stores the same bytes with direct and with buffered writes, at every slot and block boundary', async () => {
    // Whole 4 MiB slots go through an O_DIRECT handle (where the file system allows it), the short
    // last slot through the buffered one; the alignment probe writes a block that must not survive.
    const buffered = await LocalArtifactStore.open(path.join(dir, 'buffered'), { directIo: false });
    for (const size of [0, 1, 4095, 4096, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 8 * MiB + 4097]) {
      const bytes = randomBytes(size);
      const a = await store.put(pieces(bytes, 100_003));
      const b = await buffered.put(pieces(bytes, 65_536));
      expect(a, `${size} bytes`).toMatchObject({ sha256: sha(bytes), size, created: true });
      expect(b).toEqual(a);
      expect(fs.readFileSync(store.blobPath(a.sha256)).equals(bytes), `${size} bytes on disk`).toBe(true);
      expect(fs.readFileSync(buffered.blobPath(b.sha256)).equals(bytes)).toBe(true);
    }
    expect(tmpFiles()).toEqual([]);
  });

  it('reads a range whole with readRange, shorter at the end of the blob, and fails for a missing or invalid blob', async () => {
    const bytes = randomBytes(3 * MiB + 5);
    const { sha256 } = await store.put(pieces(bytes));
    for (const [start, end] of [
      [0, MiB - 1],
      [MiB, 2 * MiB - 1],
      [3 * MiB, 3 * MiB + 4],
      [7, 7],
    ] as const) {
      expect(Buffer.from(await store.readRange(sha256, { start, end })).equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    expect((await store.readRange(sha256, { start: 3 * MiB, end: 4 * MiB - 1 })).byteLength).toBe(5);
    await expect(store.readRange('ef'.repeat(32), { start: 0, end: 9 })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(store.readRange('../x', { start: 0, end: 9 })).rejects.toMatchObject({ code: 'invalid_digest' });
  });

  it('readRange shares open handles between close reads: right bytes under concurrency, and a deleted blob is gone for has and readRange at once', async () => {
    const blobs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const bytes = randomBytes(4096 + i);
        return { bytes, sha256: (await store.put(pieces(bytes))).sha256 };
      }),
    );
    // 8 blobs, each read 3 times at once at different offsets (past the handles kept: blob-handles.test.ts)
    await Promise.all(
      blobs.flatMap(({ bytes, sha256 }) =>
        [0, 1000, 4000].map(async (start) => {
          const got = await store.readRange(sha256, { start, end: start + 95 });
          expect(Buffer.from(got).equals(bytes.subarray(start, start + 96))).toBe(true);
        }),
      ),
    );
    const { sha256 } = blobs[0]!;
    await store.readRange(sha256, { start: 0, end: 9 }); // its handle is open now
    expect(await store.has(sha256)).toBe(true);
    // a read that has its handle while the blob is deleted still completes with the right bytes
    const during = store.readRange(sha256, { start: 0, end: 4095 });
    expect(await store.delete(sha256)).toBe(true);
    expect(Buffer.from(await during).equals(blobs[0]!.bytes.subarray(0, 4096))).toBe(true);
    expect(await store.has(sha256)).toBe(false);
    await expect(store.readRange(sha256, { start: 0, end: 9 })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.has(sha256)).toBe(false);
  });

  it('removes temp files left by a dead process when opened, never an upload in flight', async () => {
    const dead = path.join(dir, 'tmp', `999999999-leftover.part`);
    fs.writeFileSync(dead, 'partial');
    // a previous incarnation with our pid (a restarted container is pid 1 again)
    const samePid = path.join(dir, 'tmp', `${process.pid}-previous-run.part`);
    fs.writeFileSync(samePid, 'partial');
    // an upload this process is writing right now
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const bytes = randomBytes(1000);
    const inFlight = store.put(
      (async function* () {
        yield bytes.subarray(0, 500);
        await held;
        yield bytes.subarray(500);
      })(),
    );
    for (const end = Date.now() + 60_000; fs.readdirSync(path.join(dir, 'tmp')).length < 3;) {
      if (Date.now() > end) throw new Error('the in-flight upload never created its temp file');
      await new Promise((r) => setTimeout(r, 10));
    }
    await LocalArtifactStore.open(dir);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(samePid)).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toHaveLength(1);
    release();
    const put = await inFlight;
    expect(put.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });
});

describe('S3 store only', () => {
  it('sweeps incomplete multipart uploads and temp keys older than the threshold, and keeps younger ones', async () => {
    const prefix = `sweep${++prefixes}/`;
    const store = await s3Store(prefix);
    try {
      const s3 = store.client;
      const Bucket = store.bucket;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: store.blobKey('aa'.repeat(32)) }));
      await s3.send(new UploadPartCommand({ Bucket, Key: store.blobKey('aa'.repeat(32)), UploadId, PartNumber: 1, Body: randomBytes(1000) }));
      await s3.send(new PutObjectCommand({ Bucket, Key: `${store.tmpPrefix}1-left-by-a-crash`, Body: 'partial' }));
      expect(await store.leftovers()).toHaveLength(2);
      // a second server starting now must not take an upload in progress
      const young = await s3Store(prefix, { orphanAgeMs: 3600_000 });
      young.close();
      expect(await store.leftovers()).toHaveLength(2);
      expect(await store.sweep(0)).toEqual({ multipartUploads: 1, tempKeys: 1 });
      expect(await store.leftovers()).toEqual([]);
      expect(await store.has('aa'.repeat(32))).toBe(false);
    } finally {
      store.close();
    }
  });

  it('leaves no multipart segments behind in Swift (aborted, copied-from-temp and deleted uploads)', async () => {
    const prefix = `seg${++prefixes}/`;
    const store = await s3Store(prefix);
    const segments = async () => (await swift.listContainer(`${swift.bucket}+segments`)).filter((n) => n.startsWith(prefix));
    try {
      const unannounced = randomBytes(20 * MiB);
      const put = await store.put(pieces(unannounced)); // multipart to a temp key, copied, temp deleted
      await expect(store.put(pieces(randomBytes(20 * MiB)), { expectedSha256: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'hash_mismatch' });
      const announced = randomBytes(20 * MiB);
      await store.put(pieces(announced), { expectedSha256: sha(announced) }); // multipart to the final key: its segments are the blob
      expect(await segments()).not.toEqual([]);
      await store.delete(sha(announced));
      expect(await segments()).toEqual([]);
      expect((await swift.listContainer(swift.bucket!)).filter((n) => n.startsWith(prefix)).sort()).toEqual(
        [store.blobKey(put.sha256), `${prefix}meta/${put.sha256.slice(0, 2)}/${put.sha256}.cid`].sort(),
      );
    } finally {
      store.close();
    }
  });

  it('copies a large unannounced upload into place in parts (objects above the single-copy limit)', async () => {
    const store = await s3Store(`copy${++prefixes}/`, { copyPartBytes: 5 * MiB });
    try {
      const bytes = randomBytes(12 * MiB + 5);
      const put = await store.put(pieces(bytes));
      expect(put).toMatchObject({ sha256: sha(bytes), created: true });
      expect((await readAll(store.createReadStream(put.sha256))).equals(bytes)).toBe(true);
      const mid = await readAll(store.createReadStream(put.sha256, { start: 5 * MiB - 3, end: 10 * MiB + 3 }));
      expect(mid.equals(bytes.subarray(5 * MiB - 3, 10 * MiB + 4))).toBe(true);
      expect(await store.leftovers()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('kill -9 mid-upload: no object under a final key, and the restart cleans the multipart upload and temp key', async () => {
    const prefix = `kill${++prefixes}/`;
    const script = path.join(os.tmpdir(), `modeldao-s3-writer-${process.pid}.mts`);
    // a writer process streaming two uploads (one announced, one not) that never end
    fs.writeFileSync(
      script,
      `import { S3ArtifactStore, type S3StoreOptions } from ${JSON.stringify(path.resolve('lib/artifacts/s3-store.ts'))};
const store = await S3ArtifactStore.open(${JSON.stringify({ bucket: swift.bucket, prefix, endpoint: swift.endpoint, region: swift.region, accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey })});
async function* endless(seed) { for (let i = 0; ; i++) { const b = Buffer.alloc(1 << 20, seed); b.writeUInt32LE(i); yield b; await new Promise((r) => setTimeout(r, 5)); } }
store.put(endless(1), { expectedSha256: ${JSON.stringify('12'.repeat(32))} });
store.put(endless(2));
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    const observer = await s3Store(prefix, { skipSweep: true });
    try {
      // both multipart uploads under way (parts sent)
      for (const end = Date.now() + 120_000; ;) {
        const page = await observer.client.send(new ListMultipartUploadsCommand({ Bucket: observer.bucket, Prefix: prefix }));
        if ((page.Uploads ?? []).length >= 2) break;
        if (Date.now() > end || child.exitCode !== null) throw new Error('the writer never started its uploads');
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(await listAll(observer)).toEqual([]);
      expect(await observer.has('12'.repeat(32))).toBe(false);
      const left = await observer.leftovers();
      expect(left.filter((k) => k.startsWith('multipart:'))).toHaveLength(2);
      // restart (a server whose orphan threshold the dead uploads have passed)
      const restarted = await s3Store(prefix, { orphanAgeMs: 0 });
      restarted.close();
      expect(await observer.leftovers()).toEqual([]);
      // and it stores again
      const bytes = randomBytes(9 * MiB);
      expect((await observer.put(pieces(bytes))).sha256).toBe(sha(bytes));
      expect(await observer.verifyAll()).toEqual({ checked: 1, bad: [] });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      observer.close();
      fs.rmSync(script, { force: true });
    }
  });
});
