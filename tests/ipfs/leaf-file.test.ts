import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { afterAll, describe, expect, it } from 'vitest';
import { LeafFile, type Leaf } from '../../lib/sdk/leaf-file.ts';

// The partial file of `pull --ipfs-gateway`: verified leaves arrive in any order, are written at
// their offsets (O_DIRECT from aligned slots where the file system allows it, else through the page
// cache) and hashed into the file's sha256 in file order.

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(parent = os.tmpdir()): string {
  const d = fs.mkdtempSync(path.join(parent, 'leaf-file-'));
  dirs.push(d);
  return d;
}

/** A file of `size` random bytes cut into 1 MiB raw leaves (the last one shorter). */
function fileOf(size: number): { bytes: Buffer; sha256: string; leaves: Leaf[] } {
  const bytes = crypto.randomBytes(size);
  const leaves: Leaf[] = [];
  for (let offset = 0; offset < size; offset += MiB) {
    const chunk = bytes.subarray(offset, Math.min(size, offset + MiB));
    const digest = crypto.createHash('sha256').update(chunk).digest();
    leaves.push({ cid: CID.create(1, 0x55, Digest.create(0x12, digest)), offset, size: chunk.length });
  }
  return { bytes, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), leaves };
}

/** Adds every leaf in `order`, each from a buffer that is overwritten right after (callers reuse theirs). */
async function deliver(out: LeafFile, f: { bytes: Buffer; leaves: Leaf[] }, order: number[]): Promise<string> {
  const scratch = Buffer.alloc(MiB);
  try {
    const { todo } = out.resume();
    for (const i of order) {
      if (!todo.includes(i)) continue;
      const leaf = f.leaves[i]!;
      const b = scratch.subarray(0, leaf.size);
      f.bytes.copy(b, 0, leaf.offset, leaf.offset + leaf.size);
      out.add(i, b);
      b.fill(0xee);
    }
    return await out.digest();
  } finally {
    await out.close();
  }
}

const reversed = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
const shuffled = (n: number) => {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
};

describe('LeafFile (the partial file of a download by CID)', () => {
  const f = fileOf(9 * MiB + 4321);

  it('leaves in any order make the file and its sha256; on a disk file system the whole leaves go O_DIRECT', async () => {
    const part = path.join(tmp(), 'a.ipfs-incomplete');
    const out = new LeafFile(part, f.leaves, f.bytes.length);
    // /tmp here is a disk file system: where O_DIRECT is refused the fallback is tested below
    const directHere = out.direct;
    expect(await deliver(out, f, shuffled(f.leaves.length))).toBe(f.sha256);
    expect(fs.readFileSync(part).equals(f.bytes)).toBe(true);
    expect(fs.readdirSync(path.dirname(part))).toEqual(['a.ipfs-incomplete']); // the alignment probe file is gone
    if (!directHere) console.warn('O_DIRECT refused on', os.tmpdir(), ': only the buffered path was tested here');
  });

  it('more leaves ahead of the hash than slots: the rest go through the page cache and are read back', async () => {
    const part = path.join(tmp(), 'b.ipfs-incomplete');
    const out = new LeafFile(part, f.leaves, f.bytes.length, undefined, { slots: 2 });
    expect(await deliver(out, f, reversed(f.leaves.length))).toBe(f.sha256);
    expect(fs.readFileSync(part).equals(f.bytes)).toBe(true);
  });

  it('without direct I/O every leaf is buffered; on tmpfs (O_DIRECT there depends on the kernel) the file is right either way', async () => {
    const off = path.join(tmp(), 'c.ipfs-incomplete');
    const buffered = new LeafFile(off, f.leaves, f.bytes.length, undefined, { direct: false });
    expect(buffered.direct).toBe(false);
    expect(await deliver(buffered, f, reversed(f.leaves.length))).toBe(f.sha256);
    expect(fs.readFileSync(off).equals(f.bytes)).toBe(true);
    if (fs.existsSync('/dev/shm')) {
      const shm = path.join(tmp('/dev/shm'), 'd.ipfs-incomplete');
      const out = new LeafFile(shm, f.leaves, f.bytes.length);
      expect(await deliver(out, f, shuffled(f.leaves.length))).toBe(f.sha256);
      expect(fs.readFileSync(shm).equals(f.bytes)).toBe(true);
      expect(fs.readdirSync(path.dirname(shm))).toEqual(['d.ipfs-incomplete']);
    }
  });

  it('resume: leaves already in the partial file that hash to their CIDs are kept, a corrupt one is fetched again', async () => {
    const part = path.join(tmp(), 'e.ipfs-incomplete');
    const earlier = Buffer.from(f.bytes.subarray(0, 4 * MiB));
    earlier[2 * MiB + 7]! ^= 0x01;
    fs.writeFileSync(part, earlier);
    const out = new LeafFile(part, f.leaves, f.bytes.length);
    const { todo, resumedBytes } = out.resume();
    expect(resumedBytes).toBe(3 * MiB);
    expect(todo).toEqual([2, 4, 5, 6, 7, 8, 9]);
    // resume() again is not part of the contract: deliver() calls it, so start from a fresh handle
    await out.close();
    expect(await deliver(new LeafFile(part, f.leaves, f.bytes.length), f, reversed(f.leaves.length))).toBe(f.sha256);
    expect(fs.readFileSync(part).equals(f.bytes)).toBe(true);
  });

  it('a leaf that is never added leaves the hash incomplete: digest refuses, the partial file stays for a resume', async () => {
    const part = path.join(tmp(), 'f.ipfs-incomplete');
    const out = new LeafFile(part, f.leaves, f.bytes.length);
    out.resume();
    out.add(1, f.bytes.subarray(MiB, 2 * MiB));
    out.add(0, f.bytes.subarray(0, MiB));
    await expect(out.digest()).rejects.toThrow(/file hash incomplete: 2 of 10 leaves/);
    await out.close();
    expect(
      fs
        .readFileSync(part)
        .subarray(0, 2 * MiB)
        .equals(f.bytes.subarray(0, 2 * MiB)),
    ).toBe(true);
    const again = new LeafFile(part, f.leaves, f.bytes.length);
    expect(again.resume().resumedBytes).toBe(2 * MiB);
    await again.close();
  });

  it('leaves checked against their CIDs in their slots (off the main thread): a match is written and hashed, a mismatch is refused and leaves nothing', async () => {
    const part = path.join(tmp(), 'g.ipfs-incomplete');
    const out = new LeafFile(part, f.leaves, f.bytes.length);
    try {
      expect(out.direct).toBe(true); // /tmp is a disk file system here: slots exist
      const { todo } = out.resume();
      const whole = todo.filter((i) => f.leaves[i]!.size === MiB);
      // the first leaf arrives corrupt: refused, its slot free again, the file keeps zeros there
      const bad = out.takeSlot(0)!;
      f.bytes.copy(bad.bytes, 0, 0, MiB);
      bad.bytes[12345]! ^= 0x80;
      expect(await out.checkInSlot(0, bad.s)).toBe(false);
      // then every whole leaf, in reverse, checked in parallel; the short tail leaf has no slot
      expect(out.takeSlot(f.leaves.length - 1)).toBeNull();
      const verdicts = whole.reverse().map((i) => {
        const slot = out.takeSlot(i)!;
        f.bytes.copy(slot.bytes, 0, f.leaves[i]!.offset, f.leaves[i]!.offset + MiB);
        return out.checkInSlot(i, slot.s);
      });
      expect(await Promise.all(verdicts)).toEqual(whole.map(() => true));
      const tail = f.leaves.at(-1)!;
      out.add(f.leaves.length - 1, f.bytes.subarray(tail.offset));
      expect(await out.digest()).toBe(f.sha256);
    } finally {
      await out.close();
    }
    expect(fs.readFileSync(part).equals(f.bytes)).toBe(true);
  });

  it('a slot taken and given back unfilled is used again; a file whose leaves never came digests as incomplete', async () => {
    const part = path.join(tmp(), 'h.ipfs-incomplete');
    const out = new LeafFile(part, f.leaves, f.bytes.length, undefined, { slots: 1 });
    out.resume();
    const a = out.takeSlot(0)!;
    expect(out.takeSlot(1)).toBeNull(); // one slot only
    out.giveSlot(a.s);
    const b = out.takeSlot(1)!;
    expect(b.s).toBe(a.s);
    f.bytes.copy(b.bytes, 0, MiB, 2 * MiB);
    expect(await out.checkInSlot(1, b.s)).toBe(true);
    await expect(out.digest()).rejects.toThrow(/file hash incomplete: 0 of 10 leaves/);
    await out.close();
    expect(
      fs
        .readFileSync(part)
        .subarray(MiB, 2 * MiB)
        .equals(f.bytes.subarray(MiB, 2 * MiB)),
    ).toBe(true);
  });
});
