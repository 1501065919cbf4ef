// BlobHandles (lib/artifacts/blob-handles.ts): open read handles shared by close reads of one blob.
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobHandles } from '../../lib/artifacts/blob-handles.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-blob-handles-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Files a..e with random bytes, and an opener that counts opens and remembers the handles. */
function fixture() {
  const bytes = new Map<string, Buffer>();
  for (const k of ['a', 'b', 'c', 'd', 'e']) {
    bytes.set(k, randomBytes(1000));
    fs.writeFileSync(path.join(dir, k), bytes.get(k)!);
  }
  const opened: FileHandle[] = [];
  const opener = async (k: string) => {
    const fh = await fs.promises.open(path.join(dir, k), 'r');
    opened.push(fh);
    return fh;
  };
  const read = async (fh: FileHandle, n = 100, at = 0) => {
    const b = Buffer.alloc(n);
    await fh.read(b, 0, n, at);
    return b;
  };
  /** Whether a handle is closed (its fd is -1 then). */
  const closed = (fh: FileHandle) => fh.fd === -1;
  return { bytes, opened, opener, read, closed };
}

describe('BlobHandles', () => {
  it('shares one handle per blob between concurrent reads, opens its own past maxOpen, and closes what is unused for idleMs', async () => {
    const f = fixture();
    const h = new BlobHandles(f.opener, { maxOpen: 2, idleMs: 50 });
    const keys = ['a', 'a', 'b', 'b', 'c', 'd', 'a'];
    const got = await Promise.all(keys.map((k, i) => h.use(k, (fh) => f.read(fh, 100, i * 100))));
    keys.forEach((k, i) => expect(got[i]!.equals(f.bytes.get(k)!.subarray(i * 100, i * 100 + 100)), `read ${i} of ${k}`).toBe(true));
    // a and b kept (one open each); c and d past the limit: opened for their read and closed after it
    expect(f.opened.length).toBe(4);
    expect(h.isOpen('a') && h.isOpen('b')).toBe(true);
    expect(h.isOpen('c') || h.isOpen('d')).toBe(false);
    expect(f.opened.filter(f.closed).length).toBe(2);
    // unused past idleMs: closed and forgotten (an unref'd timer: wait on the handles, not the clock)
    await expect.poll(() => f.opened.every(f.closed), { timeout: 5_000, interval: 20 }).toBe(true);
    expect(h.isOpen('a')).toBe(false);
  });

  it('an evicted handle is closed once its last read is done, and the next read opens afresh', async () => {
    const f = fixture();
    const h = new BlobHandles(f.opener);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const reading = h.use('e', async (fh) => {
      await held;
      return f.read(fh);
    });
    await expect.poll(() => h.isOpen('e')).toBe(true);
    await h.evict('e');
    expect(h.isOpen('e')).toBe(false);
    expect(f.closed(f.opened[0]!)).toBe(false); // still in use
    release();
    expect((await reading).equals(f.bytes.get('e')!.subarray(0, 100))).toBe(true);
    await expect.poll(() => f.closed(f.opened[0]!)).toBe(true);
    await h.use('e', (fh) => f.read(fh));
    expect(f.opened.length).toBe(2);
    await h.evict('e');
  });

  it('a blob that cannot be opened fails its reads and is not remembered', async () => {
    const f = fixture();
    const h = new BlobHandles(f.opener);
    await expect(h.use('missing', (fh) => f.read(fh))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(h.isOpen('missing')).toBe(false);
    fs.writeFileSync(path.join(dir, 'missing'), 'now here');
    expect((await h.use('missing', (fh) => f.read(fh, 8))).toString()).toBe('now here');
    await h.evict('missing');
  });
});
