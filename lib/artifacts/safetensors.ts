/**
 * safetensors header parser and validator. Format: 8-byte little-endian header length N, N bytes of
 * UTF-8 JSON (`{"__metadata__": {str: str}?, "<tensor>": {dtype, shape, data_offsets: [begin, end]}}`),
 * then the data buffer. Offsets are relative to the data buffer; the tensors must tile it exactly.
 */

/** Same cap as the reference implementation (huggingface/safetensors MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Width of each dtype in bits (sub-byte float formats included). */
export const DTYPE_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  C64: 64,
};

export type SafetensorsRule =
  | 'file_too_small'
  | 'header_too_large'
  | 'header_exceeds_file'
  | 'header_not_utf8'
  | 'header_not_json'
  | 'header_not_object'
  | 'metadata_invalid'
  | 'tensor_not_object'
  | 'dtype_unknown'
  | 'shape_invalid'
  | 'offsets_invalid'
  | 'size_mismatch'
  | 'offsets_not_contiguous'
  | 'data_size_mismatch';

export class SafetensorsError extends Error {
  constructor(
    readonly rule: SafetensorsRule,
    message: string,
    readonly tensor?: string,
  ) {
    super(tensor === undefined ? message : `tensor "${tensor}": ${message}`);
  }
}

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  dataOffsets: [number, number];
  parameters: number;
}

export interface SafetensorsSummary {
  headerBytes: number;
  /** byte offset of the data buffer in the file (8 + headerBytes) */
  dataStart: number;
  tensorCount: number;
  parameters: { total: number; byDtype: Record<string, number> };
  metadata: Record<string, string> | null;
  tensors: SafetensorsTensor[];
}

/**
 * A summary read back from JSON (the blob table's safetensors column, an upload response), or null
 * when it is not one. The one shape every reader uses: pages, the upload form, the SDK.
 */
export function asSafetensorsSummary(raw: unknown): SafetensorsSummary | null {
  const s = raw as Partial<SafetensorsSummary> | null | undefined;
  if (!s || typeof s !== 'object' || !Array.isArray(s.tensors)) return null;
  if (!s.parameters || typeof s.parameters.total !== 'number' || !s.parameters.byDtype || typeof s.parameters.byDtype !== 'object') return null;
  if (!s.tensors.every((t) => t && typeof t.name === 'string' && typeof t.dtype === 'string' && Array.isArray(t.shape))) return null;
  return s as SafetensorsSummary;
}

/** The dtypes of a file's tensors, in the order the header first uses them. */
export function safetensorsDtypes(s: SafetensorsSummary): string[] {
  return Object.keys(s.parameters.byDtype);
}

/** Reads the header length from the first 8 bytes (or null if fewer are given). */
export function safetensorsHeaderLength(first8: Uint8Array): number | null {
  if (first8.byteLength < 8) return null;
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validates the header of a safetensors file of `fileSize` bytes. `head` must hold at least the
 * first 8 + N bytes of the file (more is fine). Throws SafetensorsError naming the rule (and tensor).
 */
export function parseSafetensorsHeader(head: Uint8Array, fileSize: number): SafetensorsSummary {
  if (fileSize < 8 || head.byteLength < 8) {
    throw new SafetensorsError('file_too_small', `file is ${fileSize} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const n = safetensorsHeaderLength(head)!;
  if (n > MAX_HEADER_BYTES) {
    throw new SafetensorsError('header_too_large', `header length ${n} exceeds the cap of ${MAX_HEADER_BYTES} bytes`);
  }
  if (head.byteLength > 8 && head[8] !== 0x7b) {
    throw new SafetensorsError('header_not_object', 'header must start with "{"');
  }
  if (8 + n > fileSize) {
    throw new SafetensorsError('header_exceeds_file', `header length ${n} runs past the end of the ${fileSize}-byte file`);
  }
  if (head.byteLength < 8 + n) {
    throw new SafetensorsError('header_exceeds_file', `only ${head.byteLength - 8} of ${n} header bytes available`);
  }
  let text: string;
  try {
    text = utf8.decode(head.subarray(8, 8 + n));
  } catch {
    throw new SafetensorsError('header_not_utf8', 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError('header_not_object', 'header must start with "{"');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError('header_not_json', `header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError('header_not_object', 'header JSON must be an object');
  }

  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsTensor[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) {
        throw new SafetensorsError('metadata_invalid', '__metadata__ must be an object of string values');
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new SafetensorsError('metadata_invalid', `__metadata__.${k} must be a string`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    if (info === null || typeof info !== 'object' || Array.isArray(info)) {
      throw new SafetensorsError('tensor_not_object', 'entry must be an object {dtype, shape, data_offsets}', name);
    }
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BITS)) {
      throw new SafetensorsError('dtype_unknown', `dtype ${JSON.stringify(dtype)} is not a known safetensors dtype`, name);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new SafetensorsError('shape_invalid', 'shape must be an array of non-negative integers', name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0]! > offsets[1]!) {
      throw new SafetensorsError('offsets_invalid', 'data_offsets must be [begin, end] with 0 <= begin <= end', name);
    }
    const [begin, end] = offsets as [number, number];
    let count = 1n;
    for (const d of shape as number[]) count *= BigInt(d);
    const bits = count * BigInt(DTYPE_BITS[dtype]!); // dtype checked above
    const expectedBytes = bits / 8n;
    const actualBytes = BigInt(end - begin);
    if (bits % 8n !== 0n || expectedBytes !== actualBytes) {
      throw new SafetensorsError(
        'size_mismatch',
        `shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${bits % 8n === 0n ? `${expectedBytes} bytes` : `${bits} bits (not whole bytes)`} but data_offsets span ${actualBytes}`,
        name,
      );
    }
    tensors.push({ name, dtype, shape: shape as number[], dataOffsets: [begin, end], parameters: Number(count) });
  }

  // The tensors must tile the data buffer: sorted by begin, first at 0, each starting where the last ended.
  const byOffset = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  for (const t of byOffset) {
    if (t.dataOffsets[0] !== cursor) {
      throw new SafetensorsError(
        'offsets_not_contiguous',
        t.dataOffsets[0] > cursor
          ? `data starts at ${t.dataOffsets[0]} but the previous tensor ends at ${cursor} (gap)`
          : `data starts at ${t.dataOffsets[0]}, overlapping the previous tensor that ends at ${cursor}`,
        t.name,
      );
    }
    cursor = t.dataOffsets[1];
  }
  const dataBytes = fileSize - 8 - n;
  if (cursor !== dataBytes) {
    throw new SafetensorsError('data_size_mismatch', `tensors cover ${cursor} data bytes but the file holds ${dataBytes} after the header`);
  }

  const byDtype: Record<string, number> = {};
  let total = 0;
  for (const t of tensors) {
    byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + t.parameters;
    total += t.parameters;
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { headerBytes: n, dataStart: 8 + n, tensorCount: tensors.length, parameters: { total, byDtype }, metadata, tensors };
}

/**
 * Collects the header bytes of a streamed file (as a PutOptions.tap) without holding more than
 * 8 + min(N, cap) bytes.
 */
export class SafetensorsSniffer {
  private parts: Uint8Array[] = [];
  private have = 0;
  private want = 9;
  private lengthKnown = false;

  push = (chunk: Uint8Array): void => {
    let off = 0;
    while (this.have < this.want && off < chunk.byteLength) {
      const take = chunk.subarray(off, off + Math.min(chunk.byteLength - off, this.want - this.have));
      this.parts.push(Uint8Array.from(take));
      this.have += take.byteLength;
      off += take.byteLength;
      if (!this.lengthKnown && this.have >= 9) {
        this.lengthKnown = true;
        const h = this.head();
        const n = safetensorsHeaderLength(h)!;
        // Only a plausible header ('{' first, within the cap) is collected; for any other file
        // (random first bytes read as a huge length) the sniffer stops at 9 bytes.
        this.want = h[8] === 0x7b && n <= MAX_HEADER_BYTES ? 8 + n : this.have;
      }
    }
  };

  head(): Uint8Array {
    if (this.parts.length !== 1) {
      const all = new Uint8Array(this.have);
      let o = 0;
      for (const p of this.parts) {
        all.set(p, o);
        o += p.byteLength;
      }
      this.parts = [all];
    }
    return this.parts[0] ?? new Uint8Array(0);
  }

  /** Whether the bytes look like safetensors at all (used when the file name does not say). */
  looksLikeSafetensors(fileSize: number): boolean {
    const h = this.head();
    if (h.byteLength < 9) return false;
    const n = safetensorsHeaderLength(h)!;
    return n >= 2 && n <= MAX_HEADER_BYTES && 8 + n <= fileSize && h[8] === 0x7b;
  }

  parse(fileSize: number): SafetensorsSummary {
    return parseSafetensorsHeader(this.head(), fileSize);
  }
}

/** Builds a valid safetensors file (tests, demo weights). Data bytes are zero unless `fill` is given. */
export function buildSafetensors(
  tensors: { name: string; dtype: string; shape: number[] }[],
  metadata?: Record<string, string>,
  fill?: (offset: number) => number,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = (t.shape.reduce((a, b) => a * b, 1) * (DTYPE_BITS[t.dtype] ?? NaN)) / 8;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json);
  const out = new Uint8Array(8 + hb.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  if (fill) for (let i = 0; i < offset; i++) out[8 + hb.byteLength + i] = fill(i);
  return out;
}
