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
// It replaces sendBlocksToPeer on each peer's Ledger (an internal class of @helia/bitswap, reached
// through the bitswap block broker): same want states, same has/get calls on the read-only
// blockstore (the access rules are the blockstore's), same HAVE/DONT_HAVE answers. When the
// internals are not where this expects them, it changes nothing and says so (installStreamingLedger
// returns false; tests/ipfs/bitswap.test.ts fails then).

/** Blocks per message: the default outgoing message limit of @helia/bitswap is 4 MiB. */
export const STREAMED_MESSAGE_BYTES = 3 * 1024 * 1024;

const WANT_HAVE = 1; // WantType.WantHave
const HAVE_BLOCK = 0; // BlockPresenceType.HaveBlock
const DONT_HAVE_BLOCK = 1; // BlockPresenceType.DoNotHaveBlock

interface WantEntry {
  cid: CID;
  wantType: number;
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
  blockPresences: Map<string, { cid: Uint8Array; type: number }>;
}

interface LedgerLike {
  peerId: unknown;
  wants: Map<string, WantEntry>;
  blockstore: { has(cid: CID, o?: AbortOptions): Promise<boolean>; get(cid: CID, o?: AbortOptions): AsyncIterable<Uint8Array> };
  network: { sendMessage(peer: unknown, message: OutMessage, o?: AbortOptions): Promise<void> };
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

const emptyMessage = (): OutMessage => ({ full: false, pendingBytes: 0, wantlist: new Map(), blocks: new Map(), blockPresences: new Map() });

async function readBlock(ledger: LedgerLike, cid: CID, options?: AbortOptions): Promise<Uint8Array> {
  if (!(await ledger.blockstore.has(cid, options))) throw new NotFoundError();
  const parts: Uint8Array[] = [];
  for await (const p of ledger.blockstore.get(cid, options)) parts.push(p);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Ledger.sendBlocksToPeer, sending every maxMessageBytes of blocks as its own message. */
async function sendBlocksStreamed(this: LedgerLike, maxMessageBytes: number, options?: AbortOptions): Promise<void> {
  this.removeExpiredWants();
  const unsent = [...this.wants.entries()].filter(([, w]) => w.status === 'want');
  if (unsent.length === 0) return;
  for (const [, w] of unsent) w.status = 'sending';
  let message = emptyMessage();
  let bytes = 0;
  const flush = async () => {
    if (message.blocks.size === 0 && message.blockPresences.size === 0) return;
    const m = message;
    message = emptyMessage();
    bytes = 0;
    await this.network.sendMessage(this.peerId, m, options);
    this.sentBytes([...m.blocks.values()].reduce((n, b) => n + b.data.byteLength, 0));
  };
  for (const [key, entry] of unsent) {
    // cancelled (or replaced) while earlier blocks were read and sent
    if (this.wants.get(key) !== entry) continue;
    try {
      const block = await readBlock(this, entry.cid, options);
      if (entry.status !== 'sending') continue;
      if (entry.wantType === WANT_HAVE && block.byteLength >= this.maxSizeReplaceHasWithBlock) {
        message.blockPresences.set(key, { cid: entry.cid.bytes, type: HAVE_BLOCK });
      } else {
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
