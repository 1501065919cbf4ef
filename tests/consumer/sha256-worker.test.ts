// Sha256Worker (lib/sdk/sha256-worker.ts): a pull's sha256 on a second thread, through a shared ring.
import { createHash, randomBytes } from 'node:crypto';
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
