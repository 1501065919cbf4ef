// Deterministic demo weights in safetensors format, generated at seed time (nothing committed, nothing
// downloaded). Version 2 differs from version 1 the way a real update would: one tensor reshaped,
// one added, the rest retrained.

export type DType = 'F32' | 'F16' | 'BF16' | 'I64';
export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

const width: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };

/** xorshift32: the same bytes on every machine. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function buildSafetensors(tensors: TensorSpec[], seed: number, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * width[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header));
  // Pad the header with spaces to a multiple of 8, as the reference implementation does.
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  const next = prng(seed);
  const data = out.subarray(8 + json.length);
  for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE(next() & 0x3f7fffff, i);
  return out;
}

const base: TensorSpec[] = [
  { name: 'embed.weight', dtype: 'F32', shape: [512, 64] },
  { name: 'layers.0.attn.qkv.weight', dtype: 'F32', shape: [192, 64] },
  { name: 'layers.0.attn.out.weight', dtype: 'F32', shape: [64, 64] },
  { name: 'layers.0.mlp.up.weight', dtype: 'F32', shape: [256, 64] },
  { name: 'layers.0.mlp.down.weight', dtype: 'F32', shape: [64, 256] },
  { name: 'norm.weight', dtype: 'F32', shape: [64] },
];

export function demoModelV1(): { files: { path: string; bytes: Buffer }[]; tensors: TensorSpec[] } {
  return {
    tensors: base,
    files: [
      { path: 'model.safetensors', bytes: buildSafetensors(base, 1, { format: 'pt' }) },
      { path: 'config.json', bytes: Buffer.from(JSON.stringify({ model_type: 'tiny-lm', hidden_size: 64, vocab_size: 512, num_layers: 1 }, null, 2) + '\n') },
    ],
  };
}

export function demoModelV2(): { files: { path: string; bytes: Buffer }[]; tensors: TensorSpec[] } {
  const tensors: TensorSpec[] = base.map((t) =>
    t.name === 'embed.weight' ? { ...t, shape: [640, 64] } : t,
  );
  tensors.push({ name: 'lm_head.weight', dtype: 'F32', shape: [640, 64] });
  return {
    tensors,
    files: [
      { path: 'model.safetensors', bytes: buildSafetensors(tensors, 2, { format: 'pt' }) },
      { path: 'config.json', bytes: Buffer.from(JSON.stringify({ model_type: 'tiny-lm', hidden_size: 64, vocab_size: 640, num_layers: 1, tie_word_embeddings: false }, null, 2) + '\n') },
    ],
  };
}
