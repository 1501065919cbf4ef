import { describe, expect, it } from 'vitest';
import { buildSafetensors, MAX_HEADER_BYTES, parseSafetensorsHeader, SafetensorsError, SafetensorsSniffer } from '../../lib/artifacts/index.ts';

function fileWithHeader(header: unknown, dataBytes: number, raw?: string): Uint8Array {
  const json = Buffer.from(raw ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function reason(bytes: Uint8Array, size = bytes.byteLength): { rule: string; tensor?: string } {
  try {
    parseSafetensorsHeader(bytes, size);
  } catch (err) {
    expect(err).toBeInstanceOf(SafetensorsError);
    return { rule: (err as SafetensorsError).rule, tensor: (err as SafetensorsError).tensor };
  }
  throw new Error('expected the header to be rejected');
}

const t = (dtype: string, shape: number[], offsets: [number, number]) => ({ dtype, shape, data_offsets: offsets });

describe('safetensors header', () => {
  it('summarises parameters per dtype, total and the tensor list', () => {
    const file = buildSafetensors(
      [
        { name: 'embed.weight', dtype: 'BF16', shape: [10, 4] },
        { name: 'lm_head.weight', dtype: 'F32', shape: [4, 10] },
        { name: 'norm.bias', dtype: 'F32', shape: [4] },
        { name: 'scalar', dtype: 'I64', shape: [] },
      ],
      { format: 'pt' },
    );
    const s = parseSafetensorsHeader(file, file.byteLength);
    expect(s.tensorCount).toBe(4);
    expect(s.parameters).toEqual({ total: 85, byDtype: { BF16: 40, F32: 44, I64: 1 } });
    expect(s.metadata).toEqual({ format: 'pt' });
    expect(s.tensors.map((x) => x.name)).toEqual(['embed.weight', 'lm_head.weight', 'norm.bias', 'scalar']);
    expect(s.tensors[0]).toMatchObject({ dtype: 'BF16', shape: [10, 4], dataOffsets: [0, 80], parameters: 40 });
  });

  it('accepts an empty tensor set and zero-sized tensors', () => {
    const empty = fileWithHeader({}, 0);
    expect(parseSafetensorsHeader(empty, empty.byteLength).tensorCount).toBe(0);
    const zero = fileWithHeader({ a: t('F16', [0, 3], [0, 0]), b: t('U8', [2], [0, 2]) }, 2);
    expect(parseSafetensorsHeader(zero, zero.byteLength).parameters.total).toBe(2);
  });

  it('names the rule (and tensor) for each kind of malformed header', () => {
    expect(reason(new Uint8Array(5))).toEqual({ rule: 'file_too_small', tensor: undefined });

    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    expect(reason(huge).rule).toBe('header_too_large');

    const past = new Uint8Array(16);
    new DataView(past.buffer).setBigUint64(0, 100n, true);
    past[8] = 0x7b; // '{'
    expect(reason(past).rule).toBe('header_exceeds_file');
    past[8] = 0x5b; // '['
    expect(reason(past).rule).toBe('header_not_object');

    const badUtf8 = fileWithHeader(null, 0, '{"a":"\u0000"}');
    badUtf8[10] = 0xff;
    expect(reason(badUtf8).rule).toBe('header_not_utf8');

    expect(reason(fileWithHeader(null, 0, '{"a": ')).rule).toBe('header_not_json');
    expect(reason(fileWithHeader(null, 0, '[1,2]')).rule).toBe('header_not_object');
    expect(reason(fileWithHeader({ __metadata__: { a: 1 } }, 0)).rule).toBe('metadata_invalid');
    expect(reason(fileWithHeader({ w: [1, 2] }, 0))).toEqual({ rule: 'tensor_not_object', tensor: 'w' });
    expect(reason(fileWithHeader({ w: t('F17', [1], [0, 2]) }, 2))).toEqual({ rule: 'dtype_unknown', tensor: 'w' });
    expect(reason(fileWithHeader({ w: t('F16', [-1], [0, 2]) }, 2))).toEqual({ rule: 'shape_invalid', tensor: 'w' });
    expect(reason(fileWithHeader({ w: t('F16', [1.5], [0, 2]) }, 2))).toEqual({ rule: 'shape_invalid', tensor: 'w' });
    expect(reason(fileWithHeader({ w: t('F16', [1], [2, 0]) }, 2))).toEqual({ rule: 'offsets_invalid', tensor: 'w' });
    expect(reason(fileWithHeader({ w: { dtype: 'F16', shape: [1] } }, 2))).toEqual({ rule: 'offsets_invalid', tensor: 'w' });
    expect(reason(fileWithHeader({ w: t('F16', [3], [0, 4]) }, 4))).toEqual({ rule: 'size_mismatch', tensor: 'w' });
    expect(reason(fileWithHeader({ w: t('F4', [3], [0, 2]) }, 2))).toEqual({ rule: 'size_mismatch', tensor: 'w' });
    // gap before the second tensor
    expect(reason(fileWithHeader({ a: t('U8', [2], [0, 2]), b: t('U8', [2], [3, 5]) }, 5))).toEqual({
      rule: 'offsets_not_contiguous',
      tensor: 'b',
    });
    // overlap
    expect(reason(fileWithHeader({ a: t('U8', [2], [0, 2]), b: t('U8', [2], [1, 3]) }, 3))).toEqual({
      rule: 'offsets_not_contiguous',
      tensor: 'b',
    });
    // first tensor does not start at 0
    expect(reason(fileWithHeader({ a: t('U8', [2], [1, 3]) }, 3))).toEqual({ rule: 'offsets_not_contiguous', tensor: 'a' });
    // trailing bytes after the last tensor, or a truncated data section
    expect(reason(fileWithHeader({ a: t('U8', [2], [0, 2]) }, 3)).rule).toBe('data_size_mismatch');
    const short = fileWithHeader({ a: t('U8', [4], [0, 4]) }, 4);
    expect(reason(short, short.byteLength - 1).rule).toBe('data_size_mismatch');
  });

  it('survives random mutations: always a summary or a precise SafetensorsError, never a crash', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = buildSafetensors(
      [
        { name: 'a', dtype: 'F16', shape: [3, 5] },
        { name: 'b', dtype: 'F4', shape: [8] },
        { name: 'c', dtype: 'I32', shape: [2, 2, 2] },
      ],
      { k: 'v' },
    );
    const ascii = '{}[]",:0123456789-.eE nul truefalseF16I32F4BOOLshapedtypedata_offsets__metadata__';
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Uint8Array.from(base);
      const mutations = 1 + rnd(4);
      for (let m = 0; m < mutations; m++) {
        const pos = rnd(Math.min(bytes.byteLength, 8 + 160));
        const kind = rnd(3);
        if (kind === 0) bytes[pos] = rnd(256);
        else if (kind === 1) bytes[pos] = ascii.charCodeAt(rnd(ascii.length));
        else bytes[pos]! ^= 1 << rnd(8);
      }
      const size = rnd(10) === 0 ? rnd(bytes.byteLength + 10) : bytes.byteLength;
      try {
        const s = parseSafetensorsHeader(bytes, size);
        expect(s.parameters.total).toBeGreaterThanOrEqual(0);
        valid++;
      } catch (err) {
        if (!(err instanceof SafetensorsError)) throw err;
        expect(err.message.length).toBeGreaterThan(0);
        invalid++;
      }
    }
    expect(valid + invalid).toBe(20_000);
    expect(invalid).toBeGreaterThan(0);
  });

  it('collects the header from a stream in arbitrary pieces', () => {
    const file = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [1000] }]);
    const sniffer = new SafetensorsSniffer();
    for (let i = 0; i < file.byteLength; i += 7) sniffer.push(file.subarray(i, i + 7));
    expect(sniffer.looksLikeSafetensors(file.byteLength)).toBe(true);
    expect(sniffer.parse(file.byteLength).parameters.total).toBe(1000);
    expect(sniffer.head().byteLength).toBeLessThan(200);
    const notST = new SafetensorsSniffer();
    notST.push(new TextEncoder().encode('{"vocab": {"a": 1}}'));
    expect(notST.looksLikeSafetensors(19)).toBe(false);
  });
});
