import { decodeAbiParameters, type AbiEvent, type AbiParameter } from 'viem';
import { TRANSFER_TOPIC, allTopics, eventsBySelector, type ContractKind } from './abi.ts';
import type { IndexedEvent } from './reducer.ts';
import type { BlockHeader } from './store.ts';
import { addPhase, timed } from './profile.ts';
import { fastDecoderFor } from './fast-decode.ts';

// Reads the chain: block headers and logs, with retries and block ranges that adapt to what the RPC
// accepts. Every range it returns is consistent: the logs and headers belong to one chain whose block
// `from - 1` is the caller's parent block, or it throws ReorgDetected.

export interface RpcClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON-RPC results: each call site reads its method's shape
  request(args: { method: string; params?: unknown }): Promise<any>;
}

export class ReorgDetected extends Error {
  constructor(readonly atBlock: number) {
    super(`chain reorganised at or below block ${atBlock}`);
  }
}
export class StoppedError extends Error {}

interface RawLog {
  address: string;
  topics: `0x${string}`[];
  data: `0x${string}`;
  blockNumber: string;
  blockHash: string;
  blockTimestamp?: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
}

export interface FetchedRange {
  from: number;
  to: number;
  toHeader: BlockHeader;
  events: IndexedEvent[];
  /** headers to remember for reorg detection (the range end and every block inside the reorg window) */
  headers: BlockHeader[];
  rawLogs: number;
}

export interface ChainSourceOptions {
  client: RpcClient;
  /** lowercase contract address → which contract it is */
  contracts: Map<string, ContractKind>;
  /** also read ERC-20 Transfer logs of any other contract to or from this address (the timelock), as kind 'erc20' */
  transfersOf?: string;
  /** first range size in blocks */
  initialRange?: number;
  maxRange?: number;
  /** grow the range while a request returns fewer logs than this, shrink above twice it */
  targetLogs?: number;
  /** the unit of retry waits (default 100 ms) */
  backoffMs?: number;
  log?: (msg: string) => void;
  isStopped?: () => boolean;
  /** called with every transient RPC failure (status reporting) */
  onError?: (err: unknown) => void;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function errorText(err: unknown): string {
  const parts: string[] = [];
  let e = err as { shortMessage?: string; details?: string; message?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 6; i++, e = e.cause as typeof e) {
    if (e.shortMessage) parts.push(e.shortMessage);
    if (e.details) parts.push(e.details);
    if (e.message) parts.push(e.message);
  }
  return parts.join(' | ') || String(err);
}

const RANGE_ERROR =
  /too many|more than \d+ results|limit exceeded|exceeds? (the )?(max|limit)|block range|range (is )?too (large|wide)|response size|query timeout|timed? ?out|timeout|10000 results|payload too large|413|body exceeded|too large/i;

export class ChainSource {
  rangeSize: number;
  private readonly maxRange: number;
  private readonly targetLogs: number;
  constructor(private readonly o: ChainSourceOptions) {
    // start small and double while responses are cheap: a dense chain never gets one huge first response
    this.rangeSize = o.initialRange ?? 10;
    this.maxRange = o.maxRange ?? 100_000;
    // ~1.5 KB of JSON per log: 5,000 logs stay under viem's default 10 MB response limit
    this.targetLogs = o.targetLogs ?? 5_000;
  }

  private async sleep(ms: number) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (this.o.isStopped?.()) throw new StoppedError('stopped');
      await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
    }
  }

  /** Retries transient failures with exponential backoff (capped at 10 s), forever, until stopped. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.o.isStopped?.()) throw new StoppedError('stopped');
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ReorgDetected || err instanceof StoppedError) throw err;
        this.o.onError?.(err);
        const delay = Math.min(10_000, (this.o.backoffMs ?? 100) * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random() / 2);
        if (attempt % 5 === 0)
          this.o.log?.(`rpc ${what} failed (attempt ${attempt + 1}), retrying in ${Math.round(delay)} ms: ${errorText(err).slice(0, 300)}`);
        await this.sleep(delay);
      }
    }
  }

  /** Transfer logs of contracts other than ours to or from `account` (two topic-filtered queries, no address filter). */
  private async transferLogs(account: string, from: number, to: number): Promise<RawLog[]> {
    const topic = `0x${account.slice(2).toLowerCase().padStart(64, '0')}`;
    const query = (topics: (string | null)[]) =>
      timed('eth_getLogs transfers', () => this.o.client.request({ method: 'eth_getLogs', params: [{ topics, fromBlock: hex(from), toBlock: hex(to) }] }));
    const [incoming, outgoing] = await Promise.all([query([TRANSFER_TOPIC, null, topic]), query([TRANSFER_TOPIC, topic])]);
    if (!Array.isArray(incoming) || !Array.isArray(outgoing)) throw new Error('eth_getLogs returned no array');
    const seen = new Set<string>();
    const out: RawLog[] = [];
    for (const l of [...incoming, ...outgoing] as RawLog[]) {
      // our own token's transfers come with the main query; a self-transfer matches both queries
      if (this.o.contracts.has(l.address.toLowerCase())) continue;
      const key = `${l.blockHash}|${l.logIndex}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(l);
    }
    return out;
  }

  async headNumber(): Promise<number> {
    return this.call('eth_blockNumber', async () => Number(await this.o.client.request({ method: 'eth_blockNumber' })));
  }

  async header(n: number): Promise<BlockHeader> {
    return this.call(`eth_getBlockByNumber(${n})`, async () => {
      const b = await this.o.client.request({ method: 'eth_getBlockByNumber', params: [hex(n), false] });
      // the chain got shorter than what we were reading (reorg): start the step over from the checkpoint
      if (b === null) throw new ReorgDetected(n);
      if (typeof b?.hash !== 'string') throw new Error(`block ${n}: malformed response`);
      return { number: Number(b.number), hash: b.hash.toLowerCase(), parentHash: b.parentHash.toLowerCase(), timestamp: Number(b.timestamp) };
    });
  }

  private async headers(numbers: number[]): Promise<Map<number, BlockHeader>> {
    const out = new Map<number, BlockHeader>();
    const queue = [...new Set(numbers)];
    const workers = Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) out.set(n, await this.header(n));
    });
    await Promise.all(workers);
    return out;
  }

  /**
   * Logs and headers of blocks from..(≤ maxTo). `parent` is the indexed block from - 1 (null at the
   * start block); blocks ≥ windowStart get their headers stored for reorg detection.
   */
  async fetchRange(from: number, maxTo: number, parent: { number: number; hash: string } | null, windowStart: number): Promise<FetchedRange> {
    for (;;) {
      const to = Math.min(maxTo, from + this.rangeSize - 1);
      const h1 = await this.header(to);
      let logs: RawLog[];
      const started = Date.now();
      try {
        logs = await timed('eth_getLogs', () =>
          this.o.client.request({
            method: 'eth_getLogs',
            params: [{ address: [...this.o.contracts.keys()], topics: [allTopics], fromBlock: hex(from), toBlock: hex(to) }],
          }),
        );
        if (!Array.isArray(logs)) throw new Error('eth_getLogs returned no array');
        if (this.o.transfersOf) logs = logs.concat(await this.transferLogs(this.o.transfersOf, from, to));
      } catch (err) {
        if (this.o.isStopped?.()) throw new StoppedError('stopped');
        this.o.onError?.(err);
        const text = errorText(err);
        const suggested = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i.exec(text);
        const before = this.rangeSize;
        if (suggested && Number(suggested[1]) === from && Number(suggested[2]) >= from) this.rangeSize = Number(suggested[2]) - from + 1;
        else if (RANGE_ERROR.test(text) && to > from) this.rangeSize = Math.max(1, Math.floor((to - from + 1) / 2));
        else {
          // not obviously about the range: back off, shrink a little in case it is
          this.rangeSize = Math.max(1, Math.floor(this.rangeSize * 0.75));
          await this.sleep((this.o.backoffMs ?? 100) * (2 + Math.random() * 3));
        }
        this.o.log?.(`eth_getLogs ${from}..${to} failed, range ${before} → ${this.rangeSize}: ${text.slice(0, 200)}`);
        continue;
      }
      const elapsed = Date.now() - started;
      const h2 = await this.header(to);
      if (h2.hash !== h1.hash) continue; // the chain moved under us: read again
      if (parent) {
        const p = await this.header(parent.number);
        if (p.hash !== parent.hash) throw new ReorgDetected(parent.number);
      }
      if (
        logs.some(
          (l) =>
            l.removed || (Number(l.blockNumber) === to && l.blockHash.toLowerCase() !== h1.hash) || Number(l.blockNumber) < from || Number(l.blockNumber) > to,
        )
      )
        continue;

      // headers: the range end, every block in the reorg window, and blocks whose logs lack a timestamp
      const want: number[] = [];
      for (let n = Math.max(from, windowStart); n < to; n++) want.push(n);
      for (const l of logs) if (l.blockTimestamp == null) want.push(Number(l.blockNumber));
      const got = await this.headers(want);
      got.set(to, h1);
      const windowHeaders = [...got.values()].filter((h) => h.number >= Math.max(from, windowStart) || h.number === to).sort((a, b) => a.number - b.number);
      // the window headers must link up (else a reorg happened while we read them)
      let linked = true;
      for (let i = 1; i < windowHeaders.length; i++) {
        const [prev, cur] = [windowHeaders[i - 1]!, windowHeaders[i]!];
        if (cur.number === prev.number + 1 && cur.parentHash !== prev.hash) linked = false;
      }
      if (parent && windowHeaders[0]?.number === from && windowHeaders[0].parentHash !== parent.hash) throw new ReorgDetected(parent.number);
      if (!linked) continue;
      const byBlock = got;
      if (logs.some((l) => byBlock.has(Number(l.blockNumber)) && byBlock.get(Number(l.blockNumber))!.hash !== l.blockHash.toLowerCase())) continue;

      // adapt: grow when cheap, shrink when heavy
      // aim at targetLogs per request from the density just seen, at most doubling per step
      const blocks = to - from + 1;
      const aimed = logs.length === 0 ? blocks * 2 : Math.floor((this.targetLogs * blocks) / logs.length);
      if (elapsed > 8_000) this.rangeSize = Math.max(1, Math.floor(blocks / 2));
      else this.rangeSize = Math.max(1, Math.min(this.maxRange, blocks * 2, Math.max(aimed, Math.floor(blocks / 2))));

      const events: IndexedEvent[] = [];
      const t0 = performance.now();
      for (const l of logs) {
        const e = decodeLog(l, byBlock, this.o.contracts);
        if (e) events.push(e);
      }
      addPhase('decode', performance.now() - t0);
      events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
      return { from, to, toHeader: h1, events, headers: windowHeaders, rawLogs: logs.length };
    }
  }
}

function normalize(value: unknown, param: AbiParameter): unknown {
  const t = param.type;
  if (t.endsWith('[]')) {
    const inner = { ...param, type: t.slice(0, -2) } as AbiParameter;
    return (value as unknown[]).map((v) => normalize(v, inner));
  }
  if (t === 'tuple') {
    const comps = (param as { components: readonly AbiParameter[] }).components;
    const out: Record<string, unknown> = {};
    comps.forEach((c, i) => {
      const v = Array.isArray(value) ? value[i] : (value as Record<string, unknown>)[c.name!];
      out[c.name ?? String(i)] = normalize(v, c);
    });
    return out;
  }
  if (t === 'address') return (value as string).toLowerCase();
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && (t.startsWith('bytes') || t === 'bytes')) return value.toLowerCase();
  return value;
}

interface Layout {
  indexed: AbiParameter[];
  data: AbiParameter[];
}
const layouts = new WeakMap<AbiEvent, Layout>();
function layoutOf(abi: AbiEvent): Layout {
  let l = layouts.get(abi);
  if (!l) {
    l = { indexed: abi.inputs.filter((i) => i.indexed), data: abi.inputs.filter((i) => !i.indexed) };
    layouts.set(abi, l);
  }
  return l;
}
const dynamicTopic = (t: string) => t === 'string' || t === 'bytes' || t.endsWith(']') || t === 'tuple';

/** An event's arguments by viem's ABI decoder, normalized (addresses and hex lowercase, big integers as strings); null if they do not decode. */
export function decodeArgsWithViem(abi: AbiEvent, topics: readonly string[], data: `0x${string}`): Record<string, unknown> | null {
  const layout = layoutOf(abi);
  const args: Record<string, unknown> = {};
  try {
    layout.indexed.forEach((input, i) => {
      const topic = topics[i + 1] as `0x${string}`;
      // indexed dynamic values are stored as their keccak hash
      args[input.name!] = dynamicTopic(input.type) ? topic.toLowerCase() : normalize(decodeAbiParameters([input], topic)[0], input);
    });
    if (layout.data.length > 0) {
      const values = decodeAbiParameters(layout.data, data);
      layout.data.forEach((input, i) => (args[input.name!] = normalize(values[i], input)));
    }
  } catch {
    return null;
  }
  return args;
}

/**
 * The fast decoder (fast-decode.ts) or viem's ABI decoder on the topics and data of a known event. (decodeEventLog would look the event
 * up again by hashing its signature for every log; the selector map already did that once.)
 */
export function decodeLog(l: RawLog, headers?: Map<number, BlockHeader>, contracts?: Map<string, ContractKind>): IndexedEvent | null {
  const found = eventsBySelector.get(l.topics[0]?.toLowerCase() ?? '');
  if (!found) return null;
  // with a contract map, a log of another address can only come from the transfer queries: an ERC-20 Transfer
  const kind: ContractKind | undefined = contracts
    ? (contracts.get(l.address.toLowerCase()) ?? (found.abi.name === 'Transfer' ? 'erc20' : undefined))
    : found.kind;
  if (!kind) return null;
  const layout = layoutOf(found.abi);
  if (l.topics.length !== layout.indexed.length + 1) return null; // same selector, other layout: not one of ours
  const args = fastDecoderFor(found.abi)?.(l.topics, l.data) ?? decodeArgsWithViem(found.abi, l.topics, l.data);
  if (!args) return null;
  const ordered: Record<string, unknown> = {};
  for (const input of found.abi.inputs) ordered[input.name!] = args[input.name!];
  const blockNumber = Number(l.blockNumber);
  const blockTime = l.blockTimestamp != null ? Number(l.blockTimestamp) : headers?.get(blockNumber)?.timestamp;
  if (blockTime === undefined) throw new Error(`no timestamp for block ${blockNumber}`);
  return {
    kind,
    eventName: found.abi.name,
    args: ordered,
    blockNumber,
    blockHash: l.blockHash.toLowerCase(),
    blockTime,
    txHash: l.transactionHash.toLowerCase(),
    logIndex: Number(l.logIndex),
    address: l.address.toLowerCase(),
  };
}
