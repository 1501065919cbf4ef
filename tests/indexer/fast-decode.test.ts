import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeAbiParameters, encodeEventTopics, toHex, type AbiEvent, type AbiParameter } from 'viem';
import { indexedEvents } from '../../lib/indexer/abi.ts';
import { fastDecoderFor } from '../../lib/indexer/fast-decode.ts';
import { decodeArgsWithViem } from '../../lib/indexer/source.ts';

// The fast decoder must return exactly what viem + normalize() returns, for every event the indexer
// stores, on random values and on hostile data (short, odd offsets, bad UTF-8, NUL bytes).

let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;

function randomValue(p: AbiParameter): unknown {
  const t = p.type;
  if (t === 'address') return toHex(randomBytes(20));
  if (t === 'bool') return rnd() < 0.5;
  if (t === 'string') return pick(['', 'ship it', 'not yet — “quotes”, emoji 🚀, 中文', 'x'.repeat(100 + Math.floor(rnd() * 300))]);
  if (t === 'bytes') return toHex(randomBytes(Math.floor(rnd() * 70)));
  const u = /^uint(\d+)$/.exec(t);
  if (u) {
    const bits = Number(u[1]);
    const v = BigInt(toHex(randomBytes(Math.ceil(bits / 8)))) & ((1n << BigInt(bits)) - 1n);
    return bits <= 48 ? Number(v) : v;
  }
  const b = /^bytes(\d+)$/.exec(t);
  if (b) return toHex(randomBytes(Number(b[1])));
  return undefined; // arrays, tuples: not the fast path's
}

function encodeLog(abi: AbiEvent): { topics: `0x${string}`[]; data: `0x${string}` } | null {
  const values = abi.inputs.map(randomValue);
  if (values.some((v) => v === undefined)) return null;
  const args = Object.fromEntries(abi.inputs.filter((i) => i.indexed).map((i) => [i.name!, values[abi.inputs.indexOf(i)]]));
  const topics = encodeEventTopics({ abi: [abi], eventName: abi.name, args } as never) as `0x${string}`[];
  const dataInputs = abi.inputs.filter((i) => !i.indexed);
  const data = encodeAbiParameters(
    dataInputs,
    dataInputs.map((i) => values[abi.inputs.indexOf(i)]),
  );
  return { topics, data };
}

const events = Object.values(indexedEvents).flat();

describe('fast event decoder', () => {
  it('covers the high-volume events (votes, delegation, transfers)', () => {
    for (const name of ['VoteCast', 'VoteCastWithParams', 'DelegateChanged', 'DelegateVotesChanged', 'Transfer', 'VersionPublished']) {
      expect(fastDecoderFor(events.find((e) => e.name === name)!), name).not.toBeNull();
    }
  });

  it('decodes every supported layout exactly as viem does (random values)', () => {
    let checked = 0;
    for (const abi of events) {
      const fast = fastDecoderFor(abi);
      if (!fast) continue;
      for (let i = 0; i < 50; i++) {
        const log = encodeLog(abi);
        if (!log) continue;
        expect(fast(log.topics, log.data), `${abi.name} #${i}`).toEqual(decodeArgsWithViem(abi, log.topics, log.data));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('agrees with viem (or leaves it to viem) on damaged data', () => {
    const vote = events.find((e) => e.name === 'VoteCast')!;
    const fast = fastDecoderFor(vote)!;
    const log = encodeLog(vote)!;
    const body = log.data.slice(2);
    const variants: `0x${string}`[] = [
      `0x${body.slice(0, 64 * 3)}`, // cut inside the head
      `0x${body.slice(0, body.length - 64)}`, // string cut short
      `0x${body.slice(0, 64 * 4)}${'0'.repeat(62)}21${'ff'.repeat(32)}`, // odd length word
      `0x${body.slice(0, 64 * 3)}${(0x81).toString(16).padStart(64, '0')}${body.slice(64 * 4)}`, // offset not a multiple of 32
      `0x${body.slice(0, 64 * 4)}${'0'.repeat(63)}3c3fe28082${'0'.repeat(54)}`, // invalid UTF-8 (3 bytes: c3 fe 28? )
      `0x${body.slice(0, 64 * 4)}${'0'.repeat(63)}300616200${'0'.repeat(55)}`, // a NUL byte inside the string
      `0x${body.slice(0, 64 * 2)}${'ff'.repeat(32)}${body.slice(64 * 3)}`, // uint8 support out of range
    ];
    for (const data of variants) {
      const viem = decodeArgsWithViem(vote, log.topics, data);
      const f = fast(log.topics, data);
      if (f !== undefined) expect(f, data).toEqual(viem);
    }
  });
});
