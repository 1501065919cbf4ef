import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createFileEncoderStream } from 'ipfs-car';
import { describe, expect, it } from 'vitest';
import { StreamingHasher } from '../../lib/artifacts/hash.ts';

// Second, independent path: ipfs-car encodes with @ipld/unixfs (a separate UnixFS implementation
// from ipfs-unixfs-importer), configured by ipfs-car as raw leaves, 1 MiB chunks, width 1024.

const MiB = 1024 * 1024;

/** Deterministic bytes: every MiB differs (index stamped in), pieces of an awkward size. */
function* generate(size: number, piece = 700_001): Generator<Uint8Array> {
  const base = new Uint8Array(MiB);
  let x = 0x9e3779b9;
  for (let i = 0; i < MiB; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    base[i] = x & 0xff;
  }
  for (let off = 0; off < size;) {
    const n = Math.min(piece, size - off);
    const out = new Uint8Array(n);
    for (let i = 0; i < n;) {
      const pos = off + i;
      const inMiB = pos % MiB;
      const take = Math.min(n - i, MiB - inMiB);
      out.set(base.subarray(inMiB, inMiB + take), i);
      if (inMiB < 4 && take > 0) {
        const stamp = Math.floor(pos / MiB);
        for (let k = inMiB; k < Math.min(4, inMiB + take); k++) out[i + k - inMiB] = (stamp >>> (8 * k)) & 0xff;
      }
      i += take;
    }
    yield out;
    off += n;
  }
}

/** `split`: the two hashes in two workers instead of one (the default depends on the core count). */
async function ours(size: number, split = false) {
  const h = new StreamingHasher({ split });
  for (const piece of generate(size)) await h.update(piece as Uint8Array & { buffer: ArrayBuffer });
  return h.digest();
}

async function viaIpfsCar(size: number): Promise<string> {
  return carCid(() => generate(size));
}

async function carCid(source: () => Iterable<Uint8Array>): Promise<string> {
  const blob = { stream: () => Readable.toWeb(Readable.from(source())) as ReadableStream<Uint8Array> };
  let last: { cid: { toString(): string } } | undefined;
  const reader = createFileEncoderStream(blob).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    last = value;
  }
  return last!.cid.toString();
}

function sha256Of(size: number) {
  const h = createHash('sha256');
  for (const p of generate(size)) h.update(p);
  return h.digest('hex');
}

describe('CIDv1 (unixfs-v1-2025) matches an independent encoder', () => {
  for (const [label, size] of [
    ['0 B', 0],
    ['1 B', 1],
    ['1 MiB - 1', MiB - 1],
    ['1 MiB', MiB],
    ['1 MiB + 1', MiB + 1],
    ['3 MiB + 5', 3 * MiB + 5],
  ] as const) {
    it(`${label}`, async () => {
      const cid = await viaIpfsCar(size);
      for (const split of [false, true]) {
        const mine = await ours(size, split);
        expect(mine.size).toBe(size);
        expect(mine.sha256, `split ${split}`).toBe(sha256Of(size));
        expect(mine.cid, `split ${split}`).toBe(cid);
        // single-chunk files are a raw block (bafk…), bigger ones a dag-pb root (bafy…)
        expect(mine.cid.startsWith(size <= MiB ? 'bafk' : 'bafy')).toBe(true);
      }
    });
  }

  it('a multi-level DAG (1025 chunks + 1 byte, more than 1024 links)', async () => {
    // one worker only: split jobs build the DAG with the same code, checked on the small sizes
    const size = 1025 * MiB + 1;
    const mine = await ours(size);
    expect(mine.cid).toBe(await viaIpfsCar(size));
  });
});

describe('hashing rings are reused safely', () => {
  it('concurrent, sequential and aborted jobs on recycled rings all give the right hashes', async () => {
    // Rings go back to a pool once the worker and the writer are done with them; handing one out
    // too early would let a new job's bytes land in memory a worker is still hashing.
    const { randomBytes } = await import('node:crypto');
    const inputs = Array.from({ length: 5 }, (_, i) => randomBytes(9 * MiB + 1000 * i));
    const expected = await Promise.all(inputs.map((b) => carCid(() => [b])));
    for (let round = 0; round < 3; round++) {
      const aborted = new StreamingHasher({ split: round === 1 });
      await aborted.update(randomBytes(6 * MiB));
      aborted.abort();
      const results = await Promise.all(
        inputs.map(async (b, i) => {
          // both ways at once: jobs of one worker and split jobs share the workers
          const h = new StreamingHasher({ split: i % 2 === 1 });
          for (let off = 0; off < b.byteLength; off += 1_000_003) await h.update(b.subarray(off, off + 1_000_003));
          return h.digest();
        }),
      );
      results.forEach((r, i) => {
        expect(r.sha256, `round ${round} input ${i}`).toBe(createHash('sha256').update(inputs[i]!).digest('hex'));
        expect(r.cid).toBe(expected[i]);
      });
      // A job whose result is still being computed while the next job fills its memory.
      const first = new StreamingHasher();
      await first.update(inputs[round]!);
      const pending = first.digest();
      const next = new StreamingHasher();
      await next.update(inputs[4 - round]!);
      const [a, b] = await Promise.all([pending, next.digest()]);
      expect(a.cid, `round ${round}: the earlier job`).toBe(expected[round]);
      expect(a.sha256).toBe(createHash('sha256').update(inputs[round]!).digest('hex'));
      expect(b.cid).toBe(expected[4 - round]);
    }
  });
});

describe('leaf hashes taken over by the receiving thread (work stealing)', () => {
  it('a ring the worker cannot keep up with: the caller hashes leaves itself, and both hashes stay right, one worker or two', async () => {
    // One slot: every acquire after a submit finds the ring full (the worker needs milliseconds
    // per 4 MiB slot), so the caller takes over leaves of the slot just submitted.
    for (const split of [false, true]) {
      const size = 37 * MiB + 12_345;
      const h = new StreamingHasher({ split, slots: 1 });
      for (const piece of generate(size)) await h.update(piece as Uint8Array & { buffer: ArrayBuffer });
      const got = await h.digest();
      expect(h.stolenLeaves, `split ${split}`).toBeGreaterThan(0);
      expect(h.stolenLeaves).toBeLessThan(37); // the worker hashed the others
      expect(got.sha256).toBe(sha256Of(size));
      expect(got.cid).toBe(await viaIpfsCar(size));
    }
  });
});
