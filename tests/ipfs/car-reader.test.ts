// The pull's incremental CAR reader: whatever way a gateway's body is cut into chunks (section
// headers and CIDs split across chunks, several blocks in one chunk, empty blocks, CIDv0), the same
// blocks come out, byte for byte, also when the caller reuses a chunk's memory after push; a body
// that ends inside a block or a header is not "clean".
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CarBufferWriter } from '@ipld/car';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { CarFormatError, CarReader } from '../../lib/sdk/car-reader.ts';

const rawCid = (bytes: Uint8Array, code = 0x55) => CID.createV1(code, Digest.create(0x12, crypto.createHash('sha256').update(bytes).digest()));

function makeCar(blocks: { cid: CID; bytes: Uint8Array }[]): Buffer {
  const size = CarBufferWriter.estimateHeaderLength(1) + blocks.reduce((n, b) => n + CarBufferWriter.blockLength(b), 0);
  const w = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [blocks[0]!.cid] });
  for (const b of blocks) w.write(b);
  return Buffer.from(w.close({ resize: true }));
}

describe('CarReader', () => {
  const datas = [Buffer.alloc(0), Buffer.from('x'), crypto.randomBytes(100), crypto.randomBytes(70_000), crypto.randomBytes(300)];
  const blocks = datas.map((bytes, i) => ({
    cid: i === 4 ? CID.createV0(Digest.create(0x12, crypto.createHash('sha256').update(bytes).digest())) : rawCid(bytes),
    bytes,
  }));
  const car = makeCar(blocks);

  it('gives the same blocks however the body is chunked', () => {
    for (const step of [1, 2, 3, 7, 37, 64, 1000, 65_536, car.length]) {
      const r = new CarReader(2 * 1024 * 1024);
      const got: { cid: string; bytes: Buffer }[] = [];
      // a block is only valid during the callback (the reader reuses its memory): copied here
      for (let off = 0; off < car.length; off += step)
        r.push(car.subarray(off, off + step), (cid, bytes) => got.push({ cid: cid.toString(), bytes: Buffer.from(bytes) }));
      expect(r.clean, `step ${step}`).toBe(true);
      expect(
        got.map((g) => g.cid),
        `step ${step}`,
      ).toEqual(blocks.map((b) => b.cid.toString()));
      got.forEach((g, i) => expect(g.bytes.equals(datas[i]!), `step ${step} block ${i}`).toBe(true));
    }
  });

  it("the caller may reuse a chunk's memory once push returns (as a socket read buffer is): blocks and CIDs stay right", () => {
    for (const step of [3, 37, 65_536]) {
      const r = new CarReader(2 * 1024 * 1024);
      const readBuffer = Buffer.alloc(step);
      const got: { cid: CID; bytes: Buffer }[] = [];
      for (let off = 0; off < car.length; off += step) {
        const n = car.copy(readBuffer, 0, off, off + step);
        r.push(readBuffer.subarray(0, n), (cid, bytes) => got.push({ cid, bytes: Buffer.from(bytes) }));
        readBuffer.fill(0xaa);
      }
      expect(
        got.map((g) => g.cid.toString()),
        `step ${step}`,
      ).toEqual(blocks.map((b) => b.cid.toString()));
      got.forEach((g, i) => expect(g.bytes.equals(datas[i]!), `step ${step} block ${i}`).toBe(true));
    }
  });

  it('a body cut inside a block or a section header is not clean, and says how far the block got', () => {
    const r = new CarReader(2 * 1024 * 1024);
    const cut = car.length - 150; // inside the last (300-byte) block
    r.push(car.subarray(0, cut), () => {});
    expect(r.clean).toBe(false);
    expect(r.partial).toMatchObject({ got: 150, of: 300 });
    expect(r.partial!.cid!.toString()).toBe(blocks[4]!.cid.toString());
    const h = new CarReader(2 * 1024 * 1024);
    h.push(car.subarray(0, car.length - 300 - 20), () => {}); // inside the last section's CID
    expect(h.clean).toBe(false);
  });

  it('refuses a block over the size limit and a malformed header before buffering it', () => {
    const r = new CarReader(50_000);
    expect(() => r.push(car, () => {})).toThrow(CarFormatError);
    expect(() => new CarReader(1024).push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), () => {})).toThrow(CarFormatError);
  });

  it("a block placed in a buffer of the caller arrives as that buffer, filled; blocks not placed use the reader's own", () => {
    for (const step of [1, 37, 65_536, car.length]) {
      const places: Buffer[] = [];
      // the 70 000-byte block goes into a buffer of the caller; the others (and an offer of the wrong length) do not
      const r = new CarReader(2 * 1024 * 1024, (cid, length) => {
        if (length === 300) return Buffer.alloc(299); // wrong length: ignored
        if (length !== 70_000) return null;
        const b = Buffer.alloc(length);
        places.push(b);
        return b;
      });
      const got: { bytes: Buffer; placed: boolean }[] = [];
      for (let off = 0; off < car.length; off += step)
        r.push(car.subarray(off, off + step), (cid, bytes) => got.push({ bytes: Buffer.from(bytes), placed: places.includes(bytes) }));
      expect(r.clean).toBe(true);
      expect(places).toHaveLength(1);
      expect(got.map((g) => g.placed)).toEqual([false, false, false, true, false]);
      expect(got.map((g) => g.bytes.equals(datas[got.indexOf(g)]!))).toEqual([true, true, true, true, true]);
      expect(places[0]!.equals(datas[3]!)).toBe(true);
    }
  });
});
