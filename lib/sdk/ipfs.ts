import fsp from 'node:fs/promises';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import { manifestCid } from '../manifest/cid.ts';
import { CarFormatError, CarReader } from './car-reader.ts';
import { GatewayHttpError, httpError, readBody, request } from './net.ts';
import { rawGet, RawGetUnsupported, type RawHead } from './rawget.ts';
import type { OffThreadHash } from './sha256-worker.ts';
import { isBlockOf, LeafFile, type Leaf } from './leaf-file.ts';
import { Spares } from './spares.ts';

// Fetching from IPFS trustless gateways (specs.ipfs.tech/http-gateways/trustless-gateway): raw
// blocks by CID, each checked against its CID as it arrives, fetched in parallel across gateways.
// The CIDs come from the manifest, whose sha256 the chain approved, so the chain stays the only
// source of truth: a gateway can only withhold blocks, never change them. A gateway that lies
// (bytes that do not hash to the CID), truncates, stalls or fails is named and dropped for the rest
// of the pull; its block goes to the next gateway.
//
// CPU (profiled with --cpu-prof, perf and strace on the CLI): every byte is hashed twice, and must
// be: each 1 MiB leaf against its CID, the whole file against the manifest's sha256; neither follows
// from the other. Both hashes run on worker threads (block-check.ts), reading each leaf in the slot
// the CAR reader framed it into (leaf-file.ts: shared, block-aligned memory), so the main thread
// only receives, frames and starts writes; leaves are written with O_DIRECT from those slots (page-
// cache writes cost this kernel 1.5-2 CPU s/GiB, direct ones about 0.1). Around that: garbage
// collection of per-block buffers and copies of response chunks (so blocks that find no slot are
// framed into one reused buffer, car-reader.ts, and a raw block's body is read into one buffer of its
// Content-Length), copies into shared memory (lib/bytes.ts), and the gateway's cost per request
// (RANGE_LEAVES). WebCrypto's digest was tried for the block check and is slower here: on Node 20 it
// cost 2.5x the CPU of createHash and still ran mostly on the main thread.

const RAW = 0x55;
const DAG_PB = 0x70;
const SHA2_256 = 0x12;
/** Clients SHOULD limit blocks to 2 MiB (trustless gateway spec, "Block Limits"). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024;
/** Manifests may be up to 4 MiB (lib/manifest): one raw block named by the on-chain digest. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export { manifestCid };

/** What a gateway's HTTP status says about it: refused access, no such content, or broken. */
function failureKind(status: number): 'access' | 'missing' | 'network' {
  return status === 401 || status === 403 ? 'access' : status === 404 || status === 410 ? 'missing' : 'network';
}

/**
 * Buffers of raw blocks their callers gave back (IpfsGatewayPool.release), for the next blocks: a
 * fresh 1 MiB per block is external memory to V8, whose growth starts a full GC every few dozen
 * blocks (68 mark-compacts per GiB of raw blocks in bench:ipfs). Blocks up to one leaf of modeldao's
 * chunker (1 MiB) come from here; larger ones are allocated as before.
 */
const BLOCK_BUFFER_BYTES = 1024 * 1024;
const spareBlockBuffers = new Spares<ArrayBuffer>(32);
/** Buffers handed out and not given back: only those are taken back, and each once. */
const leasedBlockBuffers = new WeakSet<ArrayBuffer>();

function blockBuffer(size: number): Buffer {
  if (size > BLOCK_BUFFER_BYTES) return Buffer.allocUnsafe(size);
  const ab = spareBlockBuffers.take() ?? new ArrayBuffer(BLOCK_BUFFER_BYTES);
  leasedBlockBuffers.add(ab);
  return Buffer.from(ab, 0, size);
}

function releaseBlockBuffer(bytes: Uint8Array): void {
  const ab = bytes.buffer;
  if (!(ab instanceof ArrayBuffer) || !leasedBlockBuffers.delete(ab)) return;
  spareBlockBuffers.give(ab);
}

/**
 * A block over plain http with rawGet (no node:http parser or per-chunk buffers): the body copied
 * once into a buffer of its Content-Length. null when rawGet cannot take the URL or the answer
 * (https, no Content-Length): the caller uses node:http. Non-2xx answers throw GatewayHttpError.
 */
async function rawBlock(url: string, headers: Record<string, string>, maxBytes: number, idleTimeoutMs: number, signal: AbortSignal): Promise<Buffer | null> {
  const u = new URL(url);
  if (u.protocol !== 'http:') return null;
  let out: Buffer | null = null;
  let n = 0;
  try {
    await rawGet(
      u,
      headers,
      {
        onHead(head) {
          if (head.status !== 200) throw new GatewayHttpError(head.status, undefined, `${url} → ${head.status}`);
          const length = head.headers['content-length'];
          // chunked: rawGet could decode it, but the buffer is sized by the length; node:http takes it
          if (length === undefined) throw new RawGetUnsupported('no Content-Length');
          const declared = Number(length);
          if (declared > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`);
          out = blockBuffer(declared);
        },
        onData(chunk) {
          chunk.copy(out!, n); // rawGet stops at Content-Length
          n += chunk.length;
        },
      },
      idleTimeoutMs,
      signal,
      { keepAlive: true }, // many small requests to the same gateway: one connection each cost more than the block
    );
  } catch (err) {
    if (err instanceof RawGetUnsupported) return null;
    throw err;
  }
  if (!out) throw new Error('no response body');
  return out;
}

/**
 * A block's body in one buffer: sized by Content-Length when the gateway sends one (copied into
 * once as chunks arrive), else collected as readBody does. More than `maxBytes`, or a body that
 * ends short of its length, is an error.
 */
function readBlockBody(res: import('node:http').IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (!Number.isSafeInteger(declared) || declared < 0) return readBody(res, maxBytes);
  if (declared > maxBytes) {
    res.destroy();
    return Promise.reject(new Error(`response larger than ${maxBytes} bytes`));
  }
  const out = Buffer.allocUnsafe(declared);
  let n = 0;
  return new Promise((resolve, reject) => {
    res.on('data', (c: Buffer) => {
      if (n + c.length > declared) {
        res.destroy();
        return reject(new Error(`response longer than its Content-Length of ${declared} bytes`));
      }
      c.copy(out, n);
      n += c.length;
    });
    res.once('end', () => (n === declared ? resolve(out) : reject(new Error(`response ended after ${n} of ${declared} bytes`))));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(new Error(`connection closed after ${n} of ${declared} bytes`));
    });
  });
}

export class BlockFailure extends Error {
  constructor(
    readonly kind: 'network' | 'integrity' | 'access' | 'missing',
    readonly gateway: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface IpfsGatewayPoolOptions {
  gateways: string[];
  /** extra request headers per gateway (the access token of a gated model) */
  headers?: (gateway: string) => Promise<Record<string, string>>;
  /** a block that has not fully arrived after this long is a stall (default 60 s) */
  blockTimeoutMs?: number;
  notice?: (message: string) => void;
}

/** The IPFS gateways of one pull: alive ones take turns; a failing one is dropped, with the reason. */
export class IpfsGatewayPool {
  private alive: string[];
  private turn = 0;
  readonly dropped: BlockFailure[] = [];
  /** Gateways whose raw blocks rawBlock cannot take (https, no Content-Length): node:http from then on. */
  private readonly viaNodeHttp = new Set<string>();
  constructor(private readonly opts: IpfsGatewayPoolOptions) {
    this.alive = [...opts.gateways];
  }
  get size() {
    return this.alive.length;
  }
  /** Drops the gateway of `f` for the rest of the pull, naming it and why. */
  drop(f: BlockFailure) {
    const i = this.alive.indexOf(f.gateway);
    if (i === -1) return;
    this.alive.splice(i, 1);
    this.dropped.push(f);
    this.opts.notice?.(`dropping IPFS gateway ${f.gateway}: ${f.message}`);
  }
  /** The next alive gateway in turn, or null when none is left. */
  next(): string | null {
    return this.alive.length === 0 ? null : this.alive[this.turn++ % this.alive.length]!;
  }
  private readonly rawOnly = new Set<string>();
  /** Gateways that do not serve CAR byte ranges (entity-bytes) are asked for raw blocks only. */
  carRefused(gw: string, why: string) {
    if (this.rawOnly.has(gw)) return;
    this.rawOnly.add(gw);
    this.opts.notice?.(`IPFS gateway ${gw} does not serve CAR byte ranges (${why}); asking it for raw blocks`);
  }
  servesCar(gw: string): boolean {
    return !this.rawOnly.has(gw);
  }
  get timeoutMs(): number {
    return this.opts.blockTimeoutMs ?? 60_000;
  }
  headersFor(gw: string): Promise<Record<string, string>> {
    return this.opts.headers?.(gw) ?? Promise.resolve({});
  }

  /** One block from one gateway, verified against `cid` (digest and size limit). */
  async fetchOnce(gw: string, cid: CID, maxBytes: number): Promise<Uint8Array> {
    const url = `${gw}/ipfs/${cid}?format=raw`;
    const timeout = this.opts.blockTimeoutMs ?? 60_000;
    const signal = AbortSignal.timeout(timeout);
    let bytes: Buffer;
    const headers = { accept: 'application/vnd.ipld.raw', ...(await this.opts.headers?.(gw)) };
    try {
      const raw = this.viaNodeHttp.has(gw) ? null : await rawBlock(url, headers, maxBytes, timeout, signal);
      if (raw) bytes = raw;
      else {
        this.viaNodeHttp.add(gw);
        const res = await request(url, { headers, idleTimeoutMs: timeout, signal });
        const status = res.statusCode ?? 0;
        if (status !== 200) throw await httpError(res, url);
        bytes = await readBlockBody(res, maxBytes);
      }
    } catch (err) {
      if (err instanceof GatewayHttpError) throw new BlockFailure(failureKind(err.status), gw, err.message, err.status);
      const msg = signal.aborted ? `stalled: block ${cid} not complete after ${timeout / 1000} s` : `block ${cid}: ${(err as Error).message}`;
      throw new BlockFailure('network', gw, msg);
    }
    if (!isBlockOf(cid, bytes)) {
      releaseBlockBuffer(bytes);
      throw new BlockFailure('integrity', gw, `served ${bytes.length} bytes for block ${cid} that do not hash to it (lying or truncating gateway)`);
    }
    return bytes;
  }

  /**
   * Gives back a block that fetchOnce/fetchBlock returned, for a later block's bytes: the caller
   * must not use it (or any view of it, e.g. a decoded node's fields) afterwards. Optional.
   */
  release(bytes: Uint8Array): void {
    releaseBlockBuffer(bytes);
  }

  /** A verified block from whichever alive gateway delivers it; throws the failures when none does. */
  async fetchBlock(cid: CID, maxBytes = MAX_BLOCK_BYTES): Promise<Uint8Array> {
    if (cid.multihash.code !== SHA2_256) throw new BlockFailure('integrity', '-', `block ${cid} is not sha2-256; refusing it`);
    const tried: BlockFailure[] = [];
    for (;;) {
      if (this.alive.length === 0) throw new IpfsFetchError(cid, [...this.dropped, ...tried]);
      const gw = this.alive[this.turn++ % this.alive.length]!;
      try {
        return await this.fetchOnce(gw, cid, maxBytes);
      } catch (err) {
        const f = err instanceof BlockFailure ? err : new BlockFailure('network', gw, String(err));
        // access refusals and missing blocks say nothing bad about the gateway for other content,
        // but it cannot help with this pull either
        this.drop(f);
        tried.push(f);
      }
    }
  }

  /** The manifest (one raw block named by the on-chain digest), or null when no gateway has it. */
  async fetchManifest(digestHex: string): Promise<Buffer> {
    return Buffer.from(await this.fetchBlock(manifestCid(digestHex), MAX_MANIFEST_BYTES));
  }
}

export class IpfsFetchError extends Error {
  constructor(
    readonly cid: CID,
    readonly failures: BlockFailure[],
  ) {
    super(`no IPFS gateway delivered block ${cid}\n${failures.map((f) => `  - ${f.gateway}: ${f.message}`).join('\n')}`);
  }
  get kind(): 'integrity' | 'access' | 'missing' | 'network' {
    if (this.failures.some((f) => f.kind === 'integrity')) return 'integrity';
    if (this.failures.length > 0 && this.failures.every((f) => f.kind === 'access')) return 'access';
    if (this.failures.length > 0 && this.failures.every((f) => f.kind === 'missing')) return 'missing';
    return 'network';
  }
}

/** Inner nodes of a file's DAG fetched at a time while its leaves are listed. */
const DAG_FETCHES = 16;

/**
 * The file's leaves in order, from its root (fetching and verifying the dag-pb nodes). The children
 * of a node are fetched in parallel (DAG_FETCHES at a time over the whole walk): a 1 GiB file has 7
 * inner nodes, a 100 GiB one about 600, each one round trip to a gateway.
 */
export async function leavesOf(pool: IpfsGatewayPool, root: CID, size: number): Promise<Leaf[]> {
  let running = 0;
  const queued: (() => void)[] = [];
  const fetchNode = async (cid: CID): Promise<Uint8Array> => {
    while (running >= DAG_FETCHES) await new Promise<void>((r) => queued.push(r));
    running++;
    try {
      return await pool.fetchBlock(cid);
    } finally {
      running--;
      queued.shift()?.();
    }
  };
  const walk = async (cid: CID, offset: number, length: number): Promise<Leaf[]> => {
    if (cid.code === RAW) {
      if (length > MAX_BLOCK_BYTES) throw new Error(`leaf ${cid} claims ${length} bytes, over the ${MAX_BLOCK_BYTES}-byte block limit`);
      return [{ cid, offset, size: length }];
    }
    if (cid.code !== DAG_PB) throw new Error(`unsupported codec 0x${cid.code.toString(16)} in the DAG of ${root}`);
    const node = dagPb.decode(await fetchNode(cid));
    const fs = UnixFS.unmarshal(node.Data ?? new Uint8Array());
    if (fs.type !== 'file' && fs.type !== 'raw') throw new Error(`${cid} is a UnixFS ${fs.type}, not a file`);
    if (fs.data && fs.data.byteLength > 0) throw new Error(`${cid} carries inline data; not the unixfs-v1-2025 import profile`);
    if (node.Links.length !== fs.blockSizes.length) throw new Error(`${cid}: ${node.Links.length} links but ${fs.blockSizes.length} blocksizes`);
    const covers = fs.blockSizes.reduce((n, b) => n + Number(b), 0);
    if (covers !== length) throw new Error(`${cid} covers ${covers} bytes, its parent says ${length}`);
    let at = offset;
    const children: Promise<Leaf[]>[] = [];
    for (let i = 0; i < node.Links.length; i++) {
      const n = Number(fs.blockSizes[i]);
      children.push(walk(node.Links[i]!.Hash, at, n));
      at += n;
    }
    // every child settles before this node does: a failure does not leave fetches running behind it
    const results = await Promise.allSettled(children);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.flatMap((r) => (r as PromiseFulfilledResult<Leaf[]>).value);
  };
  return walk(root, 0, size);
}

export interface IpfsFileResult {
  /** bytes already in the partial file from an earlier attempt (verified block by block) */
  resumedBytes: number;
}

/**
 * Hands verified leaf `i` to the partial file (LeafFile.add: copied, written at its offset, fed to
 * the file hash in its turn); `bytes` may be reused by the caller afterwards.
 */
type Deliver = (i: number, bytes: Uint8Array) => void;

/**
 * The partial file's slots (LeafFile), for leaves that arrive in a CAR: the reader frames a wanted
 * leaf straight into a free slot, where the checker thread checks it against its CID; a match is
 * delivered from there. A leaf that finds no slot is checked on this thread and `deliver`ed.
 */
interface LeafSlots {
  /** A slot for leaf `i` (`size` bytes), or null. */
  take(i: number, size: number): { s: number; bytes: Buffer } | null;
  /** Leaf `i` fills slot `s`: resolves with the verdict (true: delivered). Rejects with a local failure. */
  check(i: number, s: number): Promise<boolean>;
  /** Slot `s` was not filled after all (the stream ended or failed inside the block). */
  give(s: number): void;
}

/** The gateway answered a CAR byte-range request with something other than one (it does not serve them). */
class CarRefused extends Error {}

/**
 * Most leaves (1 MiB each) one CAR request asks for. Each request costs our gateway about 2 ms of
 * CPU (bench:ipfs, 1 GiB: server 0.94-1.08 s with 8 leaves, 0.78-0.82 with 16, 0.71-0.76 with 32).
 */
const RANGE_LEAVES = 32;
/** Raw block requests in flight per stream, for gateways without CAR byte ranges. */
const RAW_PER_STREAM = 4;

const mhKey = (cid: CID) => Buffer.from(cid.multihash.bytes).toString('hex');

/**
 * Fetches `indexes` (consecutive leaves of the file whose root is `root`) from `gw` as one CAR stream
 * (`dag-scope=entity&entity-bytes=from:to`, dfs, dups=y), every block checked against its CID as it
 * arrives and handed to `deliver` (which writes it) before the next is read. Blocks the range does
 * not need (the root and inner nodes) are checked and dropped. Throws a BlockFailure naming the
 * gateway when it lies, truncates, stalls or fails; CarRefused when it does not serve CAR ranges.
 * Leaves delivered before a failure stay delivered.
 */
async function fetchCarRange(
  pool: IpfsGatewayPool,
  gw: string,
  root: CID,
  leaves: Leaf[],
  indexes: number[],
  deliver: Deliver,
  slots?: LeafSlots,
): Promise<void> {
  const first = leaves[indexes[0]!]!;
  const last = leaves[indexes[indexes.length - 1]!]!;
  const from = first.offset;
  const to = last.offset + last.size - 1;
  const pending = new Map<string, number[]>();
  let rangeBytes = 0;
  for (const i of indexes) {
    const k = mhKey(leaves[i]!.cid);
    const at = pending.get(k);
    if (at) at.push(i);
    else pending.set(k, [i]);
    rangeBytes += leaves[i]!.size;
  }
  // A gateway that ignores entity-bytes sends the whole file: past this many bytes of blocks the
  // range does not need, it is asked for raw blocks instead.
  const maxUnexpected = rangeBytes + 8 * 1024 * 1024;
  let unexpected = 0;
  const url = `${gw}/ipfs/${root}?format=car&dag-scope=entity&entity-bytes=${from}:${to}&car-version=1&car-order=dfs&car-dups=y`;
  const what = `CAR of bytes ${from}-${to} of ${root}`;
  const timeout = pool.timeoutMs;
  const ac = new AbortController();
  let stalled = false;
  let res: import('node:http').IncomingMessage | undefined;
  // a stall: no whole block for `timeout` (reset at every verified block)
  const timer = setTimeout(() => {
    stalled = true;
    ac.abort();
    res?.destroy(new Error('stalled'));
  }, timeout);
  // the wanted leaf being framed into a slot, if any
  const framing: { placed: { i: number; s: number; bytes: Buffer } | null } = { placed: null };
  const place = (cid: CID, length: number): Buffer | null => {
    if (!slots || cid.multihash.code !== SHA2_256) return null;
    const at = pending.get(mhKey(cid));
    if (!at || at.length !== 1) return null; // a leaf wanted at two offsets is delivered twice, from here
    let slot: { s: number; bytes: Buffer } | null;
    try {
      slot = slots.take(at[0]!, length);
    } catch (err) {
      throw new LocalFailure(err);
    }
    if (slot) framing.placed = { i: at[0]!, ...slot };
    return slot?.bytes ?? null;
  };
  const reader = new CarReader(MAX_BLOCK_BYTES, place);
  // leaves whose check runs on the checker thread; the range's outcome waits for all of them
  const checks: Promise<unknown>[] = [];
  const verdict: { lie: BlockFailure | null; local: LocalFailure | null } = { lie: null, local: null };
  const onBlock = (cid: CID, bytes: Buffer) => {
    if (cid.multihash.code !== SHA2_256) {
      unexpected += bytes.length; // cannot be one of ours: dropped unverified, never used
      return;
    }
    const lie = () => new BlockFailure('integrity', gw, `served ${bytes.length} bytes for block ${cid} that do not hash to it (lying gateway; in the ${what})`);
    const k = mhKey(cid);
    const at = pending.get(k);
    const placed = framing.placed;
    if (placed && placed.bytes === bytes) {
      // a wanted leaf, framed into its slot: checked there on the checker thread
      const { i, s } = placed;
      framing.placed = null;
      pending.delete(k);
      checks.push(
        slots!.check(i, s).then(
          (ok) => {
            if (ok) return timer.refresh();
            verdict.lie ??= lie();
            ac.abort();
          },
          (err) => {
            verdict.local ??= new LocalFailure(err);
            ac.abort();
          },
        ),
      );
      return;
    }
    if (!isBlockOf(cid, bytes)) throw lie();
    if (!at) {
      unexpected += bytes.length;
      return;
    }
    pending.delete(k);
    try {
      for (const i of at) deliver(i, bytes);
    } catch (err) {
      throw new LocalFailure(err);
    }
    timer.refresh();
  };
  const checkType = (type: string) => {
    if (!/^application\/vnd\.ipld\.car\b/i.test(type)) throw new CarRefused(`answered with ${type || 'no Content-Type'}`);
  };
  // Synchronous, like every block handed to onBlock: whatever it throws ends the request.
  const onData = (chunk: Buffer) => {
    try {
      reader.push(chunk, onBlock);
    } catch (err) {
      if (err instanceof CarFormatError) throw new BlockFailure('integrity', gw, `${what}: malformed CAR (${err.message}) (lying gateway)`);
      throw err;
    }
    // with every leaf here, this ends the request and the range is done (see the catch below)
    if (unexpected > maxUnexpected) throw new CarRefused(`sent ${unexpected} bytes of blocks outside entity-bytes=${from}:${to}`);
  };
  const failureOf = (status: number, message: string) => {
    if ([400, 406, 415, 422, 501].includes(status)) return new CarRefused(message);
    return new BlockFailure(failureKind(status), gw, message, status);
  };
  try {
    let failed: { err: unknown } | null = null;
    try {
      const headers = { accept: 'application/vnd.ipld.car; version=1; order=dfs; dups=y', ...(await pool.headersFor(gw)) };
      const idleTimeoutMs = timeout + 1000; // the stall timer goes first
      try {
        // the socket reads into one reused 1 MiB buffer: no stream machinery per 64 KiB chunk
        const onHead = (h: RawHead) => {
          if (h.status !== 200) throw failureOf(h.status, `${url} → ${h.status}`);
          checkType(h.headers['content-type'] ?? '');
        };
        await rawGet(new URL(url), headers, { onHead, onData }, idleTimeoutMs, ac.signal, { keepAlive: true });
      } catch (err) {
        if (err instanceof GatewayHttpError) throw failureOf(err.status, err.message);
        if (!(err instanceof RawGetUnsupported)) throw err;
        res = await request(url, { headers, idleTimeoutMs, signal: ac.signal });
        const status = res.statusCode ?? 0;
        if (status !== 200) throw failureOf(status, (await httpError(res, url)).message);
        checkType(String(res.headers['content-type'] ?? ''));
        for await (const chunk of res) onData(chunk as Buffer);
        if (!res.complete) throw new Error('connection closed before the end of the body');
      }
    } catch (err) {
      failed = { err };
    }
    // the leaves on the checker thread: the range's outcome waits for every answer
    await Promise.all(checks);
    if (verdict.local) throw verdict.local.cause;
    if (verdict.lie) throw verdict.lie;
    if (failed) {
      const err = failed.err;
      if (err instanceof LocalFailure) throw err.cause;
      if (pending.size === 0) return; // every leaf asked for arrived verified: a bad tail does not matter
      if (err instanceof BlockFailure || err instanceof CarRefused) throw err;
      const msg = stalled ? `stalled: no block of the ${what} for ${timeout / 1000} s` : `${what}: ${(err as Error).message}`;
      throw new BlockFailure('network', gw, msg);
    }
    // the whole body arrived
    if (pending.size > 0) {
      const p = reader.partial;
      if (p && p.cid) throw new BlockFailure('integrity', gw, `${what} ended inside block ${p.cid} after ${p.got} of ${p.of} bytes (truncating gateway)`);
      if (p || !reader.clean) throw new BlockFailure('integrity', gw, `${what} ended inside a CAR section header (truncating gateway)`);
      throw new BlockFailure('missing', gw, `${what} ended without ${pending.size} of its ${indexes.length} leaves (the gateway does not have them)`);
    }
  } finally {
    clearTimeout(timer);
    if (res && !res.complete) res.destroy();
    if (framing.placed) slots!.give(framing.placed.s); // the body ended inside that leaf
  }
}

/** A failure of this side (writing a verified block), not of the gateway: passed on as it is. */
class LocalFailure {
  constructor(readonly cause: unknown) {}
}

/** Fetches `indexes` from `gw` as raw blocks, RAW_PER_STREAM at a time; throws the first failure once all settled. */
async function fetchRawRange(pool: IpfsGatewayPool, gw: string, leaves: Leaf[], indexes: number[], deliver: Deliver) {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < indexes.length) {
      const i = indexes[next++]!;
      try {
        const bytes = await pool.fetchOnce(gw, leaves[i]!.cid, MAX_BLOCK_BYTES);
        try {
          deliver(i, bytes); // written and hashed (copied) before it returns
        } finally {
          pool.release(bytes);
        }
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RAW_PER_STREAM, indexes.length) }, worker));
  if (failure !== null) throw failure;
}

/**
 * Downloads one file by its root CID into `part` (created or resumed) and checks its sha256 against
 * the manifest; on success `part` is complete and verified.
 * The leaves still missing are cut into ranges of consecutive leaves (up to RANGE_LEAVES, small
 * enough that every stream gets some), fetched `concurrency / RAW_PER_STREAM` ranges at a time across
 * the pool's gateways in turn: each as one CAR stream (entity-bytes), or as raw blocks from a
 * gateway that does not serve CAR ranges, and single leaves as raw blocks. Every block is checked
 * against its CID before it is written at its offset; the file is hashed in order as blocks arrive.
 * A gateway that fails a range is dropped and the range's undelivered leaves go to the next one.
 * A range is started only while its leaves can wait in memory for their turn in the file hash
 * (LeafFile.window): a slow range holds the others back instead of filling memory.
 * Resume: blocks already in `part` are kept when their bytes hash to their CID.
 */
export async function fetchFileByCid(
  pool: IpfsGatewayPool,
  file: { path: string; size: number; sha256: string; cid: string },
  part: string,
  o: { concurrency?: number; progress?: (delta: number) => void; sha256?: () => OffThreadHash },
): Promise<IpfsFileResult> {
  const root = CID.parse(file.cid);
  const leaves = await leavesOf(pool, root, file.size);
  const out = new LeafFile(part, leaves, file.size, o.sha256?.());
  let resumedBytes = 0;
  let got: string;
  try {
    const resumed = out.resume();
    resumedBytes = resumed.resumedBytes;
    const todo = resumed.todo;
    const streams = Math.max(1, Math.ceil((o.concurrency ?? 16) / RAW_PER_STREAM));
    // ranges: runs of consecutive missing leaves, cut so that every stream gets work
    const perRange = Math.max(2, Math.min(RANGE_LEAVES, Math.ceil(todo.length / (2 * streams))));
    const queue: number[][] = [];
    for (const i of todo) {
      const last = queue[queue.length - 1];
      if (last && last[last.length - 1] === i - 1 && last.length < perRange) last.push(i);
      else queue.push([i]);
    }
    const delivered = new Uint8Array(leaves.length);
    const deliver: Deliver = (i, bytes) => {
      const leaf = leaves[i]!;
      if (delivered[i]) return;
      if (bytes.byteLength !== leaf.size) throw new Error(`block ${leaf.cid} is ${bytes.byteLength} bytes, the DAG says ${leaf.size}`);
      out.add(i, bytes);
      delivered[i] = 1;
      o.progress?.(leaf.size);
    };
    const slots: LeafSlots = {
      take: (i, size) => (delivered[i] || size !== leaves[i]!.size ? null : out.takeSlot(i)),
      check: (i, s) =>
        out.checkInSlot(i, s).then((ok) => {
          if (ok) {
            delivered[i] = 1;
            o.progress?.(leaves[i]!.size);
          }
          return ok;
        }),
      give: (s) => out.giveSlot(s),
    };
    let failed: unknown = null;
    let inflight = 0;
    let waiters: (() => void)[] = [];
    const wake = () => {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    };
    const worker = async () => {
      while (failed === null) {
        const range = queue[0];
        // no range yet, or one whose leaves would come too far ahead of the file hash (held in
        // memory until their turn): wait for a range in flight to end (it may come back, or move the hash on)
        if (!range || (inflight > 0 && out.ahead(range[range.length - 1]!) >= out.window)) {
          if (!range && inflight === 0) return;
          await new Promise<void>((r) => waiters.push(r));
          continue;
        }
        queue.shift();
        const gw = pool.next();
        if (gw === null) {
          failed ??= new IpfsFetchError(leaves[range[0]!]!.cid, [...pool.dropped]);
          break;
        }
        inflight++;
        try {
          if (range.length > 1 && pool.servesCar(gw)) await fetchCarRange(pool, gw, root, leaves, range, deliver, slots);
          else await fetchRawRange(pool, gw, leaves, range, deliver);
        } catch (err) {
          if (err instanceof BlockFailure) pool.drop(err);
          else if (err instanceof CarRefused) pool.carRefused(gw, err.message);
          else failed ??= err;
          const rest = range.filter((i) => !delivered[i]);
          if (rest.length > 0) queue.unshift(rest);
        } finally {
          inflight--;
          wake();
        }
      }
      wake();
    };
    await Promise.all(Array.from({ length: Math.min(streams, Math.max(1, queue.length)) }, worker));
    if (failed !== null) {
      out.discard();
      throw failed;
    }
    got = await out.digest();
  } finally {
    await out.close();
  }
  if (got !== file.sha256) {
    await fsp.rm(part, { force: true });
    throw new Error(`${file.path}: the blocks of ${file.cid} (each verified) make a file with sha256 ${got}, but the approved manifest says ${file.sha256}`);
  }
  return { resumedBytes };
}
