// lib/bytes.ts copyBytes: the one copy into and out of the shared rings and slots of uploads and
// pulls (hash.ts, store.ts, sha256-worker.ts, car-reader.ts, leaf-file.ts). Bytes land exactly
// where asked, nothing around them changes, and a copy that does not fit is refused.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { copyBytes } from '../../lib/bytes.ts';

describe('copyBytes', () => {
  const src = crypto.randomBytes(70_000);
  for (const [name, make] of [
    ['shared memory', (n: number) => new Uint8Array(new SharedArrayBuffer(n))],
    ['an ArrayBuffer', (n: number) => new Uint8Array(new ArrayBuffer(n))],
    ['a Buffer view inside a larger buffer', (n: number) => Buffer.alloc(n + 100).subarray(50, 50 + n)],
  ] as const) {
    it(`into ${name}: the bytes at the offset, the rest untouched`, () => {
      const target = make(100_000);
      target.fill(0xab);
      copyBytes(target, 12_345, src.subarray(5, 60_005));
      expect(Buffer.from(target.subarray(12_345, 72_345)).equals(src.subarray(5, 60_005))).toBe(true);
      expect(target.subarray(0, 12_345).every((b) => b === 0xab)).toBe(true);
      expect(target.subarray(72_345).every((b) => b === 0xab)).toBe(true);
    });
  }

  it('from shared memory, and a single byte; nothing for an empty source', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(1000));
    shared.set(src.subarray(0, 1000));
    const out = Buffer.alloc(1000);
    copyBytes(out, 0, shared);
    expect(out.equals(src.subarray(0, 1000))).toBe(true);
    copyBytes(out, 999, Buffer.from([7]));
    expect(out[999]).toBe(7);
    copyBytes(out, 1000, new Uint8Array(0));
    expect(out.subarray(0, 999).equals(src.subarray(0, 999))).toBe(true);
  });

  it('refuses a copy that does not fit instead of cutting it short or repeating it', () => {
    const target = new Uint8Array(new SharedArrayBuffer(100));
    expect(() => copyBytes(target, 50, src.subarray(0, 51))).toThrow(RangeError);
    expect(() => copyBytes(target, -1, src.subarray(0, 10))).toThrow(RangeError);
    expect(target.every((b) => b === 0)).toBe(true);
  });
});
