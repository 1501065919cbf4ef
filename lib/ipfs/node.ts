import fs from 'node:fs';
import path from 'node:path';
import type { CID } from 'multiformats/cid';
import { NotFoundError } from 'interface-store';
import type { Blockstore, Pair } from 'interface-blockstore';
import type { AbortOptions } from 'abort-error';
import type { AnyDb } from '../artifacts/catalog.ts';
import type { ArtifactStore, ByteRange } from '../artifacts/store.ts';
import { publicBlob, statusGeneration } from './serving-status.ts';
import { DAG_PB_CODE, RAW_CODE, SHA2_256_CODE, findBlockCached, getBlock, multihashHex } from './dag.ts';
import { installNode20Polyfills } from './polyfills.ts';
import { installStreamingLedger } from './streaming-ledger.ts';

// The embedded IPFS node: Helia + libp2p (TCP, noise, yamux, identify, bitswap) inside the server
// process, whose blockstore is a read-only view of the block index (lib/ipfs/dag.ts): exactly the
// public, approved, non-revoked blocks (bitswap has no access control), leaves read from the blob
// files, nothing copied. Offline unless the operator says otherwise: no bootstrap list, no mDNS, no
// DHT, no autoNAT/UPnP/relay, no delegated routers, no public gateways (lib/env.ts IPFS_*).
//
// In the server process rather than its own: the view needs the database and the store, and the
// default database (PGlite) can be opened by one process only; the access decision also shares the
// /ipfs/ gateway's status cache, so a revocation stops both within the same 2 s.

const LOCATE_TTL_MS = 2000;

export class ReadOnlyBlockstoreError extends Error {
  override name = 'ReadOnlyBlockstoreError';
}

export interface ApprovedBlockSource {
  db: AnyDb;
  /** readRange when the store has it (the local store): one read per leaf instead of a stream */
  store: Pick<ArtifactStore, 'has' | 'createReadStream'> & { readRange?(sha256: string, range: ByteRange): Promise<Uint8Array> };
  chainId: number;
}

interface Located {
  blob: string;
  codec: number;
  offset: number;
  length: number;
  multihash: string;
}

/**
 * A Blockstore (interface-blockstore 7) over the block index that answers only for blocks of public,
 * approved, non-revoked blobs. Writes throw: the node never stores what it fetches (it fetches
 * nothing; it only provides).
 */
export class ApprovedBlockstore implements Blockstore {
  private readonly statusSource: { db: AnyDb; deployment: { chainId: number } };
  constructor(private readonly src: ApprovedBlockSource) {
    this.statusSource = { db: src.db, deployment: { chainId: src.chainId } };
  }

  /**
   * Bitswap asks has() then get() for every block it sends: the answer of the first is reused by the
   * second (and by repeated wants) for LOCATE_TTL_MS, the same bound as the access status cache.
   */
  private readonly recent = new Map<string, { at: number; gen: number; p: Promise<Located | null> }>();

  /** Whether a blob's file is in the store, remembered like `recent`: a file has a thousand leaves per GiB. */
  private readonly stored = new Map<string, { at: number; gen: number; p: Promise<boolean> }>();

  private blobStored(blob: string): Promise<boolean> {
    const now = Date.now();
    const gen = statusGeneration(this.src.db);
    const hit = this.stored.get(blob);
    if (hit && hit.gen === gen && now - hit.at < LOCATE_TTL_MS) return hit.p;
    if (this.stored.size > 4096) this.stored.clear();
    const p = this.src.store.has(blob);
    this.stored.set(blob, { at: now, gen, p });
    p.catch(() => this.stored.delete(blob));
    return p;
  }

  private locate(cid: CID): Promise<Located | null> {
    const key = cid.toString();
    const now = Date.now();
    const gen = statusGeneration(this.src.db); // an indexed revocation invalidates at once
    const hit = this.recent.get(key);
    if (hit && hit.gen === gen && now - hit.at < LOCATE_TTL_MS) return hit.p;
    if (this.recent.size > 4096) this.recent.clear();
    const p = this.locateNow(cid);
    this.recent.set(key, { at: now, gen, p });
    p.catch(() => this.recent.delete(key));
    return p;
  }

  private async locateNow(cid: CID): Promise<Located | null> {
    if (cid.multihash.code !== SHA2_256_CODE || (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE)) return null;
    const copies = (await findBlockCached(this.src.db, multihashHex(cid))).filter((b) => (cid.code === DAG_PB_CODE ? b.codec === DAG_PB_CODE : true));
    if (copies.length === 0) return null;
    const blob = await publicBlob(this.statusSource, [...new Set(copies.map((b) => b.blobSha256))]);
    if (!blob || !(await this.blobStored(blob))) return null;
    const row = copies.find((b) => b.blobSha256 === blob)!;
    return { blob, codec: row.codec, offset: row.offset, length: row.length, multihash: row.multihash };
  }

  async has(cid: CID): Promise<boolean> {
    return (await this.locate(cid)) !== null;
  }

  async *get(cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    const at = await this.locate(cid);
    if (!at) throw new NotFoundError(`${cid} is not provided by this node`);
    if (at.codec === DAG_PB_CODE) {
      const row = await getBlock(this.src.db, at.multihash, at.blob);
      if (!row?.node) throw new NotFoundError(`${cid}: node bytes missing`);
      yield row.node;
      return;
    }
    if (at.length === 0) {
      yield new Uint8Array();
      return;
    }
    if (this.src.store.readRange) {
      options?.signal?.throwIfAborted();
      const bytes = await this.src.store.readRange(at.blob, { start: at.offset, end: at.offset + at.length - 1 }).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new NotFoundError(`${cid}: the blob file is gone`) : err;
      });
      if (bytes.byteLength !== at.length) throw new NotFoundError(`${cid}: ${bytes.byteLength} of ${at.length} bytes in the blob file`);
      yield bytes;
      return;
    }
    // One buffer per leaf, yielded once: bitswap's ledger gathers get() with it-to-buffer, which
    // concatenates chunk by chunk (256 KiB read chunks made it copy 2.5 MiB per 1 MiB leaf).
    const out = Buffer.allocUnsafe(at.length);
    let filled = 0;
    const stream = this.src.store.createReadStream(at.blob, { start: at.offset, end: at.offset + at.length - 1 });
    const onAbort = () => stream.destroy(new Error('aborted'));
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of stream) {
        const c = chunk as Buffer;
        if (filled + c.byteLength > at.length) throw new Error(`${cid}: the blob is longer than its block index says`);
        c.copy(out, filled);
        filled += c.byteLength;
      }
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
      stream.destroy();
    }
    if (filled !== at.length) throw new NotFoundError(`${cid}: ${filled} of ${at.length} bytes in the blob file`);
    yield out;
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) yield { cid, bytes: this.get(cid, options) };
  }

  async *getAll(): AsyncGenerator<Pair> {
    throw new ReadOnlyBlockstoreError('the embedded IPFS node does not enumerate the store');
  }

  async put(): Promise<CID> {
    throw new ReadOnlyBlockstoreError('the embedded IPFS node is read-only');
  }

  async *putMany(): AsyncGenerator<CID> {
    throw new ReadOnlyBlockstoreError('the embedded IPFS node is read-only');
  }

  async delete(): Promise<void> {
    throw new ReadOnlyBlockstoreError('the embedded IPFS node is read-only');
  }

  async *deleteMany(): AsyncGenerator<CID> {
    throw new ReadOnlyBlockstoreError('the embedded IPFS node is read-only');
  }
}

/** At most this many delegates of one pin status are dialled, each for at most DELEGATE_DIAL_MS. */
const MAX_DELEGATES = 8;
const DELEGATE_DIAL_MS = 10_000;

export interface IpfsNodeConfig {
  listen: string[];
  announce: string[];
  bootstrap: string[];
  dht: boolean;
  /** where the node's private key is kept (its peer id survives restarts: pinning origins stay valid) */
  keyFile: string;
}

export interface IpfsNodeInfo {
  peerId: string;
  listen: string[];
  announce: string[];
  dht: boolean;
  bootstrap: string[];
}

export interface IpfsNode {
  info(): IpfsNodeInfo;
  /** Multiaddrs with /p2p/<peer id> that another node dials (pinning `origins`). */
  origins(): string[];
  /** The libp2p services running (identify; dht only with IPFS_DHT) and peer discovery modules configured. */
  services(): string[];
  peerDiscovery(): number;
  /** Remote multiaddrs of the open connections. */
  connections(): string[];
  /**
   * Best-effort dial of a pinning service's `delegates` (Pinning Service API, "Provider hints":
   * a client that holds the data should connect to them). Never throws; peers already connected and
   * dials in flight are skipped.
   */
  connect(addrs: string[]): void;
  stop(): Promise<void>;
}

async function loadOrCreateKey(keyFile: string) {
  const { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } = await import('@libp2p/crypto/keys');
  try {
    return privateKeyFromProtobuf(new Uint8Array(fs.readFileSync(keyFile)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`IPFS node key ${keyFile}: ${(err as Error).message}`);
  }
  const key = await generateKeyPair('Ed25519');
  fs.mkdirSync(path.dirname(keyFile), { recursive: true });
  const tmp = `${keyFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600 });
  fs.renameSync(tmp, keyFile);
  return key;
}

/** The libp2p options both the server's node and the tests' client node start from: TCP only, nothing automatic. */
export async function offlineLibp2pOptions(o: { listen: string[]; announce?: string[]; bootstrap?: string[]; dht?: boolean }) {
  const { tcp } = await import('@libp2p/tcp');
  const { noise } = await import('@libp2p/noise');
  const { yamux } = await import('@libp2p/yamux');
  const { identify } = await import('@libp2p/identify');
  const services: Record<string, unknown> = { identify: identify() };
  if (o.dht) {
    const { kadDHT } = await import('@libp2p/kad-dht');
    services.dht = kadDHT({ clientMode: false });
  }
  const peerDiscovery: unknown[] = [];
  if (o.bootstrap && o.bootstrap.length > 0) {
    const { bootstrap } = await import('@libp2p/bootstrap');
    peerDiscovery.push(bootstrap({ list: o.bootstrap }));
  }
  return {
    addresses: { listen: o.listen, announce: o.announce && o.announce.length > 0 ? o.announce : undefined },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    services,
  };
}

/** Helia options with every network default off: no delegated routers, no public gateways. */
export function offlineHeliaOptions() {
  return { routers: [], http: { delegatedRouters: [], recursiveGateways: [] } };
}

export async function startIpfsNode(cfg: IpfsNodeConfig, src: ApprovedBlockSource, log: (m: string) => void = () => {}): Promise<IpfsNode> {
  installNode20Polyfills();
  const { createHelia } = await import('helia');
  const { MemoryDatastore } = await import('datastore-core');
  const libp2pOptions = await offlineLibp2pOptions(cfg);
  const privateKey = await loadOrCreateKey(cfg.keyFile);
  const helia = await createHelia({
    ...offlineHeliaOptions(),
    blockstore: new ApprovedBlockstore(src),
    datastore: new MemoryDatastore(),
    libp2p: { ...libp2pOptions, privateKey },
  } as never);
  await helia.start();
  // answers want lists block by block instead of as one message of every wanted block (see the file)
  if (!installStreamingLedger(helia)) log('ipfs: @helia/bitswap internals moved; bitswap answers are not streamed (slow for large files)');
  const libp2p = helia.libp2p;
  const peerId = libp2p.peerId.toString();
  const { multiaddr } = await import('@multiformats/multiaddr');
  const dialing = new Set<string>();
  const withPeer = (a: string) => (a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`);
  const info = (): IpfsNodeInfo => {
    const listen = libp2p.getMultiaddrs().map((m) => m.toString().replace(`/p2p/${peerId}`, ''));
    const announce = cfg.announce.length > 0 ? cfg.announce.map(withPeer) : listen.map(withPeer);
    return { peerId, listen, announce, dht: cfg.dht, bootstrap: cfg.bootstrap };
  };
  log(
    `ipfs: peer ${peerId}, listening on ${info().listen.join(', ')}${cfg.dht ? ', DHT on' : ''}${cfg.bootstrap.length ? `, bootstrap ${cfg.bootstrap.length}` : ''}`,
  );
  return {
    info,
    origins: () => info().announce,
    services: () => Object.keys((libp2p as unknown as { services: Record<string, unknown> }).services),
    peerDiscovery: () => libp2pOptions.peerDiscovery.length,
    connections: () => libp2p.getConnections().map((c) => c.remoteAddr.toString()),
    connect(addrs) {
      for (const a of addrs.slice(0, MAX_DELEGATES)) {
        if (typeof a !== 'string' || a.length > 512 || dialing.has(a)) continue;
        let ma;
        try {
          ma = multiaddr(a);
        } catch {
          continue;
        }
        const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value;
        // a delegate names its peer (the spec's examples do); without it there is nothing to check
        if (!peer || peer === peerId || libp2p.getConnections().some((c) => c.remotePeer.toString() === peer)) continue;
        dialing.add(a);
        libp2p
          .dial(ma, { signal: AbortSignal.timeout(DELEGATE_DIAL_MS) })
          .then(
            () => log(`ipfs: connected to pinning delegate ${peer}`),
            (err: Error) => log(`ipfs: pinning delegate ${peer} not reachable: ${String(err.message).slice(0, 120)}`),
          )
          .finally(() => dialing.delete(a));
      }
    },
    async stop() {
      await helia.stop();
    },
  };
}
