// A real byte-level BPE tokenizer for the demo model (the GPT-2 scheme: bytes mapped to printable
// characters, merges learned from a small fixed corpus), written as a `tokenizers` tokenizer.json.
// Deterministic: the same corpus, the same tie-breaking, the same bytes on every machine.

export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;

const CORPUS = `
A community governs this model on chain. Token holders vote on which weights are approved and who may
fetch them. Maintainers upload new weights and propose updates; consumers fetch the approved version
and verify every byte against the digest stored on chain. Nobody can swap the weights a consumer
receives, not even the people running the server. The tiny language model has one layer, sixty-four
hidden units and a small vocabulary. It is generated at seed time, the same on every machine, so that
the tools people already use can load it: the configuration, the tokenizer and the tensors. The
proposal to change the model shows what changes: a tensor reshaped, a tensor added, the rest the same.
Hello world! The quick brown fox jumps over the lazy dog. 0123456789 — weights, votes, proposals.
`;

/** GPT-2's bytes_to_unicode: every byte gets a printable character (space → Ġ, newline → Ċ). */
export function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const map: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (keep.includes(b)) map[b] = String.fromCodePoint(b);
    else map[b] = String.fromCodePoint(256 + n++);
  }
  return map;
}

/** The pre-tokenizer's split (GPT-2 pattern), enough for the training corpus. */
function words(text: string): string[] {
  return text.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? [];
}

/** tokenizer.json with `vocabSize` entries: 3 special tokens, 256 bytes, then learned merges. */
export function buildDemoTokenizer(vocabSize = 512): Buffer {
  const b2u = byteToUnicode();
  const vocab = new Map<string, number>();
  SPECIAL_TOKENS.forEach((t) => vocab.set(t, vocab.size));
  for (let b = 0; b < 256; b++) vocab.set(b2u[b]!, vocab.size); // b2u has 256 entries

  // word (as symbol list) → count
  const counts = new Map<string, { symbols: string[]; count: number }>();
  for (const w of words(CORPUS)) {
    const mapped = [...Buffer.from(w, 'utf8')].map((b) => b2u[b]!); // a byte indexes b2u's 256 entries
    const key = mapped.join('\u0000');
    const e = counts.get(key);
    if (e) e.count++;
    else counts.set(key, { symbols: mapped, count: 1 });
  }
  const merges: string[] = [];
  while (vocab.size < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of counts.values()) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const k = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 1; // a pair seen once teaches nothing
    for (const [k, c] of pairs) {
      if (c > bestCount || (c === bestCount && best !== null && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (!best) break;
    // symbols never contain a space (byte-level: space is mapped to Ġ), so a pair key splits in two
    const [a, b] = best.split(' ') as [string, string];
    const merged = a + b;
    merges.push(best);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const e of counts.values()) {
      const out: string[] = [];
      for (let i = 0; i < e.symbols.length; i++) {
        if (i + 1 < e.symbols.length && e.symbols[i] === a && e.symbols[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(e.symbols[i]!);
      }
      e.symbols = out;
    }
  }

  const special = (content: string) => ({
    id: vocab.get(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
  return Buffer.from(JSON.stringify(tokenizer, null, 2) + '\n');
}

export function buildDemoTokenizerConfig(): Buffer {
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    model_max_length: 256,
    clean_up_tokenization_spaces: false,
  };
  return Buffer.from(JSON.stringify(config, null, 2) + '\n');
}
