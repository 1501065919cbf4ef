import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore, StoreError } from '../../lib/artifacts/index.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

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

let dir: string;
let store: LocalArtifactStore;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-store-'));
  store = await LocalArtifactStore.open(dir);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const tmpFiles = () => fs.readdirSync(path.join(dir, 'tmp'));

describe('artifact store', () => {
  it('stores bytes under their sha256 and reads them back whole or by range', async () => {
    const bytes = randomBytes(9 * 1024 * 1024 + 123);
    const put = await store.put(pieces(bytes));
    expect(put).toMatchObject({ sha256: sha(bytes), size: bytes.byteLength, created: true });
    expect(put.cid).toMatch(/^bafy/);
    expect(await store.has(put.sha256)).toBe(true);
    expect(await store.stat(put.sha256)).toEqual({ sha256: put.sha256, size: bytes.byteLength, cid: put.cid });
    expect((await readAll(store.createReadStream(put.sha256))).equals(bytes)).toBe(true);
    const part = await readAll(store.createReadStream(put.sha256, { start: 100, end: 4_200_000 }));
    expect(part.equals(bytes.subarray(100, 4_200_001))).toBe(true);
    expect(tmpFiles()).toEqual([]);
    expect(await store.verifyAll()).toEqual({ checked: 1, bad: [] });
  });

  it('stores the same bytes with direct and with buffered writes, at every slot and block boundary', async () => {
    // Whole 4 MiB slots go through an O_DIRECT handle (where the file system allows it), the short
    // last slot through the buffered one; the alignment probe writes a block that must not survive.
    const buffered = await LocalArtifactStore.open(path.join(dir, 'buffered'), { directIo: false });
    const MiB = 1024 * 1024;
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

  it('stores a zero-byte file', async () => {
    const put = await store.put(Readable.from([]));
    expect(put).toMatchObject({ size: 0, sha256: sha(new Uint8Array()), created: true });
    expect(put.cid).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    expect((await readAll(store.createReadStream(put.sha256))).length).toBe(0);
  });

  it('stores identical bytes once, also when uploaded concurrently', async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const results = await Promise.all([1, 2, 3, 4].map((n) => store.put(pieces(bytes, 10_000 * n))));
    expect(new Set(results.map((r) => r.sha256)).size).toBe(1);
    expect(new Set(results.map((r) => r.cid)).size).toBe(1);
    const again = await store.put(pieces(bytes));
    expect(again.created).toBe(false);
    const listed: string[] = [];
    for await (const name of store.list()) listed.push(name);
    expect(listed).toEqual([sha(bytes)]);
    expect(tmpFiles()).toEqual([]);
  });

  it('rejects bytes whose sha256 differs from the expected one and keeps nothing', async () => {
    const bytes = randomBytes(1024 * 1024);
    const err = await store.put(pieces(bytes), { expectedSha256: 'ab'.repeat(32) }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe('hash_mismatch');
    expect(await store.has(sha(bytes))).toBe(false);
    expect(tmpFiles()).toEqual([]);
    const ok = await store.put(pieces(bytes), { expectedSha256: sha(bytes).toUpperCase() });
    expect(ok.sha256).toBe(sha(bytes));
  });

  it('aborts an upload above the size limit and keeps nothing', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const err = await store.put(pieces(bytes), { maxBytes: 2 * 1024 * 1024 }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe('too_large');
    expect(tmpFiles()).toEqual([]);
    const listed: string[] = [];
    for await (const name of store.list()) listed.push(name);
    expect(listed).toEqual([]);
  });

  it('keeps nothing when the source fails midway (client gone)', async () => {
    async function* failing() {
      yield randomBytes(6 * 1024 * 1024);
      throw new Error('socket hang up');
    }
    await expect(store.put(failing())).rejects.toThrow('socket hang up');
    expect(tmpFiles()).toEqual([]);
  });

  it('keeps nothing when the pre-commit check refuses the file', async () => {
    const bytes = randomBytes(1000);
    await expect(
      store.put(pieces(bytes), {
        beforeCommit: () => {
          throw new Error('not safetensors');
        },
      }),
    ).rejects.toThrow('not safetensors');
    expect(await store.has(sha(bytes))).toBe(false);
    expect(tmpFiles()).toEqual([]);
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

  it('deletes blobs', async () => {
    const put = await store.put(pieces(randomBytes(10)));
    expect(await store.delete(put.sha256)).toBe(true);
    expect(await store.has(put.sha256)).toBe(false);
    expect(await store.stat(put.sha256)).toBeNull();
    expect(await store.delete(put.sha256)).toBe(false);
  });
});
