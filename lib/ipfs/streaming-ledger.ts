import type { CID } from 'multiformats/cid';
import { varint } from 'multiformats';
import { NotFoundError } from 'interface-store';
import type { AbortOptions } from 'abort-error';

// Bitswap's provider side, streamed. @helia/bitswap 4's Ledger answers a want list by reading EVERY
// wanted block first and sending them as one message (split into 4 MiB frames only at the end),
// under a 10 s send timeout. A 256 MiB file's 256 leaves are wanted at once, so the node held 256 MiB
// before its first byte left (≈ 11 s at load 30), and the send of the whole file then ran into the
// 10 s timeout: the stream was aborted, the peer got part of the file and the rest only after its
// wants were sent again (4.9 MiB/s measured, 0.047x /api/blobs). This sends what was read as soon as
// it reaches maxMessageBytes (each part its own message, under its own timeout), so the first block
// leaves after one read and the node holds at most one message per peer.
//
// The blocks go out on one bitswap stream per answer, one length-prefixed message per
// maxMessageBytes, encoded here (encodeMessageParts): @helia/bitswap's network encodes each message
// through protons, which copies every block three times (a size probe per block, the message, the
// length prefix) and opens a stream per message (a protocol negotiation, and a yamux window that
// starts again at 256 KiB). Here each block's bytes go to the stream as they were read; noise's
// encryption is their first copy.
//
// It replaces sendBlocksToPeer on each peer's Ledger (an internal class of @helia/bitswap, reached
// through the bitswap block broker): same want states, same has/get calls on the read-only
// blockstore (the access rules are the blockstore's), same HAVE/DONT_HAVE answers. When the
// internals are not where this expects them, it changes nothing and says so (installStreamingLedger
// returns false; tests/ipfs/bitswap.test.ts fails then).

/**
 * Blocks per message: the default outgoing message limit of @helia/bitswap is 4 MiB. The size does
 * not change what a Helia client spends per byte (#12, BENCH_CLIENT_PROF profiles; 1, 2 and 3 MiB
 * measured the same within noise): it decrypts noise frames of at most 64 KiB, so every message of
 * a 1 MiB leaf arrives in many chunks and its protobuf decode copies it once whatever its size; it
 * then hashes each block twice (bitswap, then Helia's check) and copies it again in the exporter.
 */
export const STREAMED_MESSAGE_BYTES = 3 * 1024 * 1024;

// @helia/bitswap's enums are strings (pb/message.js WantType, BlockPresenceType); on the wire,
// BlockPresenceType is HaveBlock = 0, DoNotHaveBlock = 1
const WANT_HAVE = 'WantHave';
const HAVE_BLOCK = 'HaveBlock';
const DONT_HAVE_BLOCK = 'DoNotHaveBlock';
type PresenceType = typeof HAVE_BLOCK | typeof DONT_HAVE_BLOCK;
const PRESENCE_WIRE: Record<PresenceType, number> = { HaveBlock: 0, DoNotHaveBlock: 1 };

/** @helia/bitswap's protocol and its send timeout per message (constants.js BITSWAP_120, DEFAULT_MESSAGE_SEND_TIMEOUT). */
const BITSWAP_120 = '/ipfs/bitswap/1.2.0';
const MESSAGE_SEND_TIMEOUT_MS = 10_000;

interface WantEntry {
  cid: CID;
  wantType: string;
  sendDontHave: boolean;
  status: 'want' | 'sending' | 'sent';
  expires?: number;
  haveBlock?: boolean;
  sentDoNotHave?: boolean;
}

interface OutMessage {
  full: boolean;
  pendingBytes: number;
  wantlist: Map<string, unknown>;
  blocks: Map<string, { data: Uint8Array; prefix: Uint8Array }>;
  blockPresences: Map<string, { cid: Uint8Array; type: PresenceType }>;
}

interface BitswapStream {
  readonly writeBufferLength: number;
  addEventListener(type: string, fn: () => void, o?: { once?: boolean }): void;
  removeEventListener(type: string, fn: () => void): void;
  send(data: Uint8Array): boolean;
  close(o?: AbortOptions): Promise<void>;
  closeRead?(o?: AbortOptions): Promise<void>;
  abort(err: Error): void;
}

interface LedgerLike {
  peerId: unknown;
  wants: Map<string, WantEntry>;
  blockstore: { has(cid: CID, o?: AbortOptions): Promise<boolean>; get(cid: CID, o?: AbortOptions): AsyncIterable<Uint8Array> };
  network: {
    sendMessage(peer: unknown, message: OutMessage, o?: AbortOptions): Promise<void>;
    libp2p?: { dialProtocol?(peer: unknown, protocol: string, o?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<BitswapStream> };
    runOnLimitedConnections?: boolean;
  };
  maxSizeReplaceHasWithBlock: number;
  doNotResendBlockWindow: number;
  removeExpiredWants(): void;
  sentBytes(n: number): void;
  sendBlocksToPeer(o?: AbortOptions): Promise<void>;
}

function cidPrefix(cid: CID): Uint8Array {
  const parts = [cid.version, cid.code, cid.multihash.code, cid.multihash.digest.byteLength];
  const out = new Uint8Array(parts.reduce((n, p) => n + varint.encodingLength(p), 0));
  let at = 0;
  for (const p of parts) {
    varint.encodeTo(p, out, at);
    at += varint.encodingLength(p);
  }
  return out;
}

/**
 * One bitswap 1.2.0 message, length-prefixed (unsigned varint, as it-length-prefixed writes it), as
 * the parts to send in order: small header parts and each block's bytes as they are. The fields
 * (bitswap's message.proto): payload = 3 (Block: prefix = 1, data = 2), blockPresences = 4
 * (BlockPresence: cid = 1, type = 2); no want list (this node wants nothing), no pendingBytes.
 */
export function encodeMessageParts(
  blocks: Iterable<{ prefix: Uint8Array; data: Uint8Array }>,
  presences: Iterable<{ cid: Uint8Array; type: PresenceType }>,
): Uint8Array[] {
  const len = varint.encodingLength;
  const field = (inner: number) => 1 + len(inner) + inner; // tag, length, content
  const blockList = [...blocks].map((b) => ({ ...b, inner: field(b.prefix.byteLength) + field(b.data.byteLength) }));
  const presenceList = [...presences].map((p) => ({ ...p, wire: PRESENCE_WIRE[p.type], inner: 0 }));
  for (const p of presenceList) p.inner = field(p.cid.byteLength) + 1 + len(p.wire);
  const total = [...blockList, ...presenceList].reduce((n, x) => n + field(x.inner), 0);
  const parts: Uint8Array[] = [];
  let head: number[] = [];
  const put = (n: number) => {
    const b = new Uint8Array(len(n));
    varint.encodeTo(n, b, 0);
    head.push(...b);
  };
  put(total);
  for (const p of presenceList) {
    head.push(34);
    put(p.inner);
    head.push(10);
    put(p.cid.byteLength);
    head.push(...p.cid, 16);
    put(p.wire);
  }
  for (const b of blockList) {
    head.push(26);
    put(b.inner);
    head.push(10);
    put(b.prefix.byteLength);
    head.push(...b.prefix, 18);
    put(b.data.byteLength);
    parts.push(Uint8Array.from(head), b.data);
    head = [];
  }
  if (head.length > 0) parts.push(Uint8Array.from(head));
  return parts;
}

const emptyMessage = (): OutMessage => ({ full: false, pendingBytes: 0, wantlist: new Map(), blocks: new Map(), blockPresences: new Map() });

async function readBlock(ledger: LedgerLike, cid: CID, options?: AbortOptions): Promise<Uint8Array> {
  if (!(await ledger.blockstore.has(cid, options))) throw new NotFoundError();
  const parts: Uint8Array[] = [];
  for await (const p of ledger.blockstore.get(cid, options)) parts.push(p);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Resolves at the stream's next drain or idle (buffer empty); rejects when it closes or `signal` aborts. */
function nextWrite(stream: BitswapStream, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      for (const t of ['drain', 'idle', 'close']) stream.removeEventListener(t, t === 'close' ? onClose : onWrite);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onWrite = () => done();
    const onClose = () => done(new Error('bitswap stream closed while sending'));
    const onAbort = () => done(signal.reason as Error);
    stream.addEventListener('drain', onWrite);
    stream.addEventListener('idle', onWrite);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Ledger.sendBlocksToPeer, sending every maxMessageBytes of blocks as its own message. */
async function sendBlocksStreamed(this: LedgerLike, maxMessageBytes: number, options?: AbortOptions): Promise<void> {
  this.removeExpiredWants();
  const unsent = [...this.wants.entries()].filter(([, w]) => w.status === 'want');
  if (unsent.length === 0) return;
  for (const [, w] of unsent) w.status = 'sending';
  let message = emptyMessage();
  let bytes = 0;
  const libp2p = this.network.libp2p;
  let stream: BitswapStream | undefined;
  const send = async (m: OutMessage) => {
    // @helia/bitswap's own path when its network is not shaped as expected
    if (typeof libp2p?.dialProtocol !== 'function') return this.network.sendMessage(this.peerId, m, options);
    const signal = options?.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(MESSAGE_SEND_TIMEOUT_MS)])
      : AbortSignal.timeout(MESSAGE_SEND_TIMEOUT_MS);
    if (!stream) {
      stream = await libp2p.dialProtocol(this.peerId, BITSWAP_120, { signal, runOnLimitedConnection: this.network.runOnLimitedConnections });
      await stream.closeRead?.({ signal });
    }
    // at most one message waits in the stream's buffer while the next is read: 'drain' (a yamux
    // window update) says the muxer takes bytes again, not that the buffer is empty
    while (stream.writeBufferLength > 0) await nextWrite(stream, signal);
    for (const part of encodeMessageParts(m.blocks.values(), m.blockPresences.values())) stream.send(part);
  };
  const flush = async () => {
    if (message.blocks.size === 0 && message.blockPresences.size === 0) return;
    const m = message;
    message = emptyMessage();
    bytes = 0;
    await send(m);
    this.sentBytes([...m.blocks.values()].reduce((n, b) => n + b.data.byteLength, 0));
  };
  try {
    for (const [key, entry] of unsent) {
      // cancelled (or replaced) while earlier blocks were read and sent
      if (this.wants.get(key) !== entry) continue;
      try {
        const block = await readBlock(this, entry.cid, options);
        if (entry.status !== 'sending') continue;
        if (entry.wantType === WANT_HAVE && block.byteLength >= this.maxSizeReplaceHasWithBlock) {
          message.blockPresences.set(key, { cid: entry.cid.bytes, type: HAVE_BLOCK });
        } else {
          // a message stays under the peer's 4 MiB limit: blocks of at most 4 MiB each, at most maxMessageBytes together
          if (bytes > 0 && bytes + block.byteLength > maxMessageBytes) await flush();
          message.blocks.set(key, { data: block, prefix: cidPrefix(entry.cid) });
          bytes += block.byteLength;
        }
        entry.status = 'sent';
        entry.expires = Date.now() + this.doNotResendBlockWindow;
      } catch (err) {
        if ((err as Error).name !== 'NotFoundError') throw err;
        entry.status = 'want';
        entry.haveBlock = false;
        if (!entry.sendDontHave || entry.sentDoNotHave === true) continue;
        entry.sentDoNotHave = true;
        message.blockPresences.set(key, { cid: entry.cid.bytes, type: DONT_HAVE_BLOCK });
      }
      if (bytes >= maxMessageBytes) await flush();
    }
    await flush();
    await stream?.close({ signal: AbortSignal.timeout(MESSAGE_SEND_TIMEOUT_MS) });
  } catch (err) {
    stream?.abort(err as Error);
    throw err;
  }
}

/**
 * Makes the bitswap provider of this Helia node stream its answers (see above). Returns whether it
 * could: false when @helia/bitswap's internals are not where this expects them.
 */
export function installStreamingLedger(helia: unknown, maxMessageBytes = STREAMED_MESSAGE_BYTES): boolean {
  const brokers = (helia as { blockBrokers?: { name?: string; bitswap?: unknown }[] }).blockBrokers;
  const bitswap = brokers?.find((b) => b.name === 'bitswap')?.bitswap as { peerWantLists?: { ledgerMap?: unknown } } | undefined;
  const ledgers = bitswap?.peerWantLists?.ledgerMap as { set?: (k: unknown, v: LedgerLike) => unknown } | undefined;
  if (!ledgers || typeof ledgers.set !== 'function') return false;
  const set = ledgers.set.bind(ledgers);
  ledgers.set = (peer: unknown, ledger: LedgerLike) => {
    if (typeof ledger.sendBlocksToPeer === 'function' && ledger.wants instanceof Map) {
      ledger.sendBlocksToPeer = (o?: AbortOptions) => sendBlocksStreamed.call(ledger, maxMessageBytes, o);
    }
    return set(peer, ledger);
  };
  return true;
}
