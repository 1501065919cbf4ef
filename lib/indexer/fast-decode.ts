import type { AbiEvent, AbiParameter } from 'viem';

// A decoder for the event layouts that make up almost all of a DAO's logs (VoteCast, Transfer,
// DelegateChanged, DelegateVotesChanged, …): static words and strings/bytes, read straight from the
// hex. viem's generic decoder costs ~18 µs a log; this one a fraction of that, and the indexer's
// backfill runs decode and database writes on one thread (PGlite). It returns exactly what
// viem + normalize() returns (tests/indexer/fast-decode.test.ts checks that), or undefined for a
// layout or value it does not handle, and the caller falls back to viem.

type Reader = (topics: readonly string[], data: string) => unknown;
type Field = { name: string; read: Reader };
export type FastDecoder = (topics: readonly string[], data: string) => Record<string, unknown> | undefined;

const WORD = 64; // hex chars
const textDecoder = new TextDecoder('utf-8', { fatal: true });

class Unsupported extends Error {}

function wordAt(hex: string, index: number): string {
  // hex has the 0x prefix; word `index` is at 2 + index * 64
  const start = 2 + index * WORD;
  if (hex.length < start + WORD) throw new Unsupported();
  return hex.slice(start, start + WORD);
}

function staticReader(type: string): ((word: string) => unknown) | null {
  if (type === 'address') return (w) => `0x${w.slice(24)}`.toLowerCase();
  if (type === 'bool')
    return (w) => {
      const v = BigInt(`0x${w}`);
      if (v > 1n) throw new Unsupported();
      return v === 1n;
    };
  const u = /^uint(\d+)$/.exec(type);
  if (u) {
    const bits = Number(u[1]);
    const max = (1n << BigInt(bits)) - 1n;
    // viem returns numbers for up to 48 bits, bigints above (normalized to decimal strings)
    return (w) => {
      const v = BigInt(`0x${w}`);
      if (v > max) throw new Unsupported();
      return bits <= 48 ? Number(v) : v.toString();
    };
  }
  const b = /^bytes(\d+)$/.exec(type);
  if (b) {
    const n = Number(b[1]);
    return (w) => `0x${w.slice(0, n * 2)}`.toLowerCase();
  }
  return null;
}

function dataField(p: AbiParameter, index: number): Reader | null {
  const stat = staticReader(p.type);
  if (stat) return (_t, data) => stat(wordAt(data, index));
  if (p.type === 'string' || p.type === 'bytes') {
    const isString = p.type === 'string';
    return (_t, data) => {
      const offset = Number(BigInt(`0x${wordAt(data, index)}`));
      if (offset % 32 !== 0) throw new Unsupported();
      const lengthWord = offset / 32;
      const length = Number(BigInt(`0x${wordAt(data, lengthWord)}`));
      const start = 2 + (lengthWord + 1) * WORD;
      if (data.length < start + length * 2) throw new Unsupported();
      const hex = data.slice(start, start + length * 2).toLowerCase();
      if (!isString) return `0x${hex}`;
      if (length === 0) return '';
      const bytes = Buffer.from(hex, 'hex');
      // viem trims leading zero bytes of a string and decodes leniently: leave such values to it
      if (bytes[0] === 0 || bytes.includes(0)) throw new Unsupported();
      try {
        return textDecoder.decode(bytes);
      } catch {
        throw new Unsupported();
      }
    };
  }
  return null;
}

const cache = new WeakMap<AbiEvent, FastDecoder | null>();

/** A fast decoder for the event's layout, or null when it has arrays, tuples or signed integers. */
export function fastDecoderFor(abi: AbiEvent): FastDecoder | null {
  if (cache.has(abi)) return cache.get(abi)!;
  const fields: Field[] = [];
  let topic = 1;
  let word = 0;
  let ok = true;
  for (const input of abi.inputs) {
    if (input.indexed) {
      const i = topic++;
      const stat = staticReader(input.type);
      if (stat) fields.push({ name: input.name!, read: (topics) => stat((topics[i] ?? '').slice(2).padStart(WORD, '0')) });
      else if (input.type === 'string' || input.type === 'bytes') fields.push({ name: input.name!, read: (topics) => (topics[i] ?? '').toLowerCase() });
      else ok = false;
    } else {
      const read = dataField(input, word++);
      if (read) fields.push({ name: input.name!, read });
      else ok = false;
    }
  }
  const decoder: FastDecoder | null = ok
    ? (topics, data) => {
        try {
          const out: Record<string, unknown> = {};
          for (const f of fields) out[f.name] = f.read(topics, data);
          return out;
        } catch {
          return undefined; // anything unusual: viem decides, so both paths agree on every input
        }
      }
    : null;
  cache.set(abi, decoder);
  return decoder;
}
