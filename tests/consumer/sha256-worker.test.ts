// Sha256Worker (lib/sdk/sha256-worker.ts): a pull's sha256 on a second thread, through a shared ring.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sha256Worker } from '../../lib/sdk/sha256-worker.ts';

describe('Sha256Worker', () => {
  let worker: Sha256Worker | null = null;
  afterEach(async () => {
    await worker?.close();
    worker = null;
  });

  it('gives each interleaved stream the digest of its own bytes, across ring wrap-arounds and chunks larger than the ring', async () => {
    worker = new Sha256Worker(64 * 1024);
    const inputs = [randomBytes(1_000_003), randomBytes(300_001), Buffer.alloc(0)];
    const hashes = inputs.map(() => worker!.hash());
    // Odd chunk sizes, up to 3x the ring, the streams taking turns; the caller reuses its buffer at once.
    const scratch = Buffer.alloc(200_000);
    const offsets = inputs.map(() => 0);
    for (let turn = 0; offsets.some((o, i) => o < inputs[i]!.length); turn++) {
      const i = turn % inputs.length;
      const n = Math.min([1, 4093, 65_536, 199_999][turn % 4]!, inputs[i]!.length - offsets[i]!);
      if (n === 0) continue;
      inputs[i]!.copy(scratch, 0, offsets[i]!, offsets[i]! + n);
      hashes[i]!.update(scratch.subarray(0, n));
      scratch.fill(0xee, 0, n);
      offsets[i]! += n;
    }
    const digests = await Promise.all(hashes.map((h) => h.digest()));
    expect(digests).toEqual(inputs.map((b) => createHash('sha256').update(b).digest('hex')));
  });

  it('a discarded stream does not disturb the others, and a finished one refuses more bytes', async () => {
    worker = new Sha256Worker(64 * 1024);
    const a = worker.hash();
    const dropped = worker.hash();
    a.update(Buffer.from('hello '));
    dropped.update(randomBytes(100_000));
    dropped.discard();
    a.update(Buffer.from('world'));
    expect(await a.digest()).toBe(createHash('sha256').update('hello world').digest('hex'));
    expect(() => a.update(Buffer.from('!'))).toThrow(/already finished/);
  });

  it("writes a stream's bytes at their positions on its own thread, beside a hash-only stream, and digests them all", async () => {
    worker = new Sha256Worker(64 * 1024);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sha256-worker-'));
    try {
      const file = path.join(dir, 'part');
      const head = randomBytes(70_001); // already on disk, as when a pull resumes: hashed, not written
      const body = randomBytes(500_003);
      fs.writeFileSync(file, head);
      const fd = fs.openSync(file, 'r+');
      const h = worker.hash();
      const other = worker.hash();
      h.update(head);
      const scratch = Buffer.alloc(150_000);
      let turn = 0;
      for (let off = 0; off < body.length; turn++) {
        const n = Math.min([4093, 149_999, 65_536][turn % 3]!, body.length - off);
        body.copy(scratch, 0, off, off + n);
        h.updateAndWrite(scratch.subarray(0, n), fd, head.length + off);
        scratch.fill(0xee, 0, n);
        other.update(Buffer.from('x'));
        off += n;
      }
      await h.written();
      fs.closeSync(fd);
      expect(fs.readFileSync(file).equals(Buffer.concat([head, body]))).toBe(true);
      expect(await h.digest()).toBe(createHash('sha256').update(head).update(body).digest('hex'));
      expect(await other.digest()).toBe(createHash('sha256').update('x'.repeat(turn)).digest('hex'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['a resume inside a block, odd pieces', 70_001, [4093, 524_288, 599_999, 1]],
    ['pieces that fill each stage exactly', 65_536, [524_288]],
  ])('with writeDirect, stages the writes into whole O_DIRECT blocks (%s), stage boundaries, the short tail', async (_, headBytes, pieces) => {
    worker = new Sha256Worker(2 * 1024 * 1024);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sha256-worker-'));
    try {
      const file = path.join(dir, 'part');
      const head = randomBytes(headBytes); // a resumed prefix
      const body = randomBytes(17 * 1024 * 1024 + 12_345); // more stages than a stream keeps, then a tail under one block
      fs.writeFileSync(file, head);
      const fd = fs.openSync(file, 'r+');
      let directFd: number | null = null;
      try {
        directFd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
      } catch {
        // a file system without O_DIRECT: the staging is skipped, the writes stay buffered (checked the same way)
      }
      const h = worker.hash();
      h.update(head);
      if (directFd !== null) h.writeDirect(directFd, path.join(dir, 'probe'));
      const scratch = Buffer.alloc(600_000);
      for (let off = 0, turn = 0; off < body.length; turn++) {
        const n = Math.min(pieces[turn % pieces.length]!, body.length - off);
        body.copy(scratch, 0, off, off + n);
        h.updateAndWrite(scratch.subarray(0, n), fd, head.length + off);
        scratch.fill(0xee, 0, n);
        off += n;
      }
      await h.written();
      fs.closeSync(fd);
      if (directFd !== null) fs.closeSync(directFd);
      expect(fs.readFileSync(file).equals(Buffer.concat([head, body]))).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(['part']); // the alignment probe is gone
      expect(await h.digest()).toBe(createHash('sha256').update(head).update(body).digest('hex'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands a failed write back as the errno error (ENOSPC), from written() and from the next updateAndWrite', async () => {
    worker = new Sha256Worker(64 * 1024);
    const fd = fs.openSync('/dev/full', 'w');
    try {
      const h = worker.hash();
      h.updateAndWrite(randomBytes(10_000), fd, 0);
      // Two waits at once (as after a failure that arrives while a wait is pending): both get the error.
      const errs = await Promise.all(
        [h.written(), h.written()].map((p) =>
          p.then(
            () => null,
            (e: NodeJS.ErrnoException) => e,
          ),
        ),
      );
      for (const err of errs) expect(err).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
      expect(() => h.updateAndWrite(randomBytes(10), fd, 10_000)).toThrow(/ENOSPC/);
      // The hash itself still works: the bytes were queued for it.
      const ok = worker.hash();
      ok.update(Buffer.from('still hashing'));
      expect(await ok.digest()).toBe(createHash('sha256').update('still hashing').digest('hex'));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('refuses bytes once closed', async () => {
    worker = new Sha256Worker(64 * 1024);
    const h = worker.hash();
    h.update(Buffer.from('x'));
    await worker.close();
    expect(() => h.update(Buffer.from('y'))).toThrow(/closed/);
  });

  it('refuses a ring size that is not a power of two', () => {
    expect(() => new Sha256Worker(3 * 1024 * 1024)).toThrow(/power of two/);
  });
});
