// Deterministic demo weights in safetensors format, generated at seed time (nothing committed, nothing
// downloaded). Version 2 differs from version 1 the way a real update would: one tensor reshaped,
// one added, the rest retrained.
import { buildDemoTokenizer, buildDemoTokenizerConfig } from './demo-tokenizer.ts';

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

// A tiny Llama (transformers' LlamaForCausalLM): 1 layer, hidden 64, 4 heads, MLP 256, vocabulary 512,
// tied embeddings. Tensor names and shapes are the ones transformers expects for this config, so
// AutoConfig/AutoTokenizer (and a from_pretrained with torch) load it as a real model.
const HIDDEN = 64;
const MLP = 256;
const layer = (i: number): TensorSpec[] => [
  { name: `model.layers.${i}.input_layernorm.weight`, dtype: 'F32', shape: [HIDDEN] },
  { name: `model.layers.${i}.self_attn.q_proj.weight`, dtype: 'F32', shape: [HIDDEN, HIDDEN] },
  { name: `model.layers.${i}.self_attn.k_proj.weight`, dtype: 'F32', shape: [HIDDEN, HIDDEN] },
  { name: `model.layers.${i}.self_attn.v_proj.weight`, dtype: 'F32', shape: [HIDDEN, HIDDEN] },
  { name: `model.layers.${i}.self_attn.o_proj.weight`, dtype: 'F32', shape: [HIDDEN, HIDDEN] },
  { name: `model.layers.${i}.post_attention_layernorm.weight`, dtype: 'F32', shape: [HIDDEN] },
  { name: `model.layers.${i}.mlp.gate_proj.weight`, dtype: 'F32', shape: [MLP, HIDDEN] },
  { name: `model.layers.${i}.mlp.up_proj.weight`, dtype: 'F32', shape: [MLP, HIDDEN] },
  { name: `model.layers.${i}.mlp.down_proj.weight`, dtype: 'F32', shape: [HIDDEN, MLP] },
];
const base: TensorSpec[] = [
  { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [512, HIDDEN] },
  ...layer(0),
  { name: 'model.norm.weight', dtype: 'F32', shape: [HIDDEN] },
];

/** transformers' LlamaConfig for the demo model. */
export function demoConfig(vocabSize: number, tieWordEmbeddings: boolean): Buffer {
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: HIDDEN,
    intermediate_size: MLP,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    head_dim: HIDDEN / 4,
    hidden_act: 'silu',
    max_position_embeddings: 256,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: tieWordEmbeddings,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
  return Buffer.from(JSON.stringify(config, null, 2) + '\n');
}

function tokenizerFiles(): { path: string; bytes: Buffer }[] {
  return [
    { path: 'tokenizer.json', bytes: buildDemoTokenizer(512) },
    { path: 'tokenizer_config.json', bytes: buildDemoTokenizerConfig() },
  ];
}

export function demoModelV1(): { files: { path: string; bytes: Buffer }[]; tensors: TensorSpec[] } {
  return {
    tensors: base,
    files: [
      { path: 'model.safetensors', bytes: buildSafetensors(base, 1, { format: 'pt' }) },
      { path: 'config.json', bytes: demoConfig(512, true) },
      ...tokenizerFiles(),
    ],
  };
}

/** Version 2: the vocabulary grows to 640 (embedding reshaped) and the LM head is untied (added). */
export function demoModelV2(): { files: { path: string; bytes: Buffer }[]; tensors: TensorSpec[] } {
  const tensors: TensorSpec[] = base.map((t) => (t.name === 'model.embed_tokens.weight' ? { ...t, shape: [640, HIDDEN] } : t));
  tensors.push({ name: 'lm_head.weight', dtype: 'F32', shape: [640, HIDDEN] });
  return {
    tensors,
    files: [
      { path: 'model.safetensors', bytes: buildSafetensors(tensors, 2, { format: 'pt' }) },
      { path: 'config.json', bytes: demoConfig(640, false) },
      ...tokenizerFiles(),
    ],
  };
}
