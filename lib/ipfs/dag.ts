import { sql } from 'drizzle-orm';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { rows, type AnyDb } from '../artifacts/catalog.ts';
import { StreamingHasher, type ContentHashes, type DagNodeBytes } from '../artifacts/hash.ts';
import type { ArtifactStore } from '../artifacts/store.ts';

// The IPFS view of the artifact store, without copies: every blob's unixfs-v1-2025 DAG (the dag-pb
// nodes the hash worker builds at ingest, ≈ 50 KB per GiB) and an index from each block's multihash
// to where its bytes are — a node's bytes in the row, a leaf's as (blob, offset, length) in the
// blob file. Tables: db/schema/ipfs.ts.

export const RAW_CODE = 0x55;
export const DAG_PB_CODE = 0x70;
export const SHA2_256_CODE = 0x12;
export const IDENTITY_CODE = 0x00;

export interface BlockRow {
  /** hex of the multihash bytes */
  multihash: string;
  blobSha256: string;
  codec: number;
  /** raw leaf: where its bytes start in the blob; dag-pb node: where its subtree's bytes start */
  offset: number;
  /** raw leaf: its byte length; dag-pb node: the node's own byte length */
  length: number;
  /** the dag-pb node's bytes (null for raw leaves) */
  node: Uint8Array | null;
  /** the block occurs more than once in this blob's DAG (dups=n must remember only these) */
  repeats: boolean;
}

export const multihashHex = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('hex');

/**
 * The block index of one file's DAG: walks it from the root in DFS order, giving each leaf its byte
 * offset from the UnixFS `blocksizes`. A root that is a raw block is the whole file (≤ 1 MiB).
 */
export function indexDag(sha256: string, rootCid: string, size: number, nodes: DagNodeBytes[]): BlockRow[] {
  const root = CID.parse(rootCid);
  if (root.code === RAW_CODE) {
    return [{ multihash: multihashHex(root), blobSha256: sha256, codec: RAW_CODE, offset: 0, length: size, node: null, repeats: false }];
  }
  const byCid = new Map<string, Uint8Array>();
  for (const n of nodes) byCid.set(Buffer.from(n.cid).toString('hex'), n.bytes);
  const out = new Map<string, BlockRow>();
  const visit = (cid: CID, offset: number, length: number): number => {
    const key = multihashHex(cid);
    const seen = out.get(key);
    if (cid.code === RAW_CODE) {
      if (seen) seen.repeats = true;
      else out.set(key, { multihash: key, blobSha256: sha256, codec: RAW_CODE, offset, length, node: null, repeats: false });
      return length;
    }
    if (cid.code !== DAG_PB_CODE) throw new Error(`unexpected codec 0x${cid.code.toString(16)} in the DAG of ${sha256}`);
    const bytes = byCid.get(Buffer.from(cid.bytes).toString('hex'));
    if (!bytes) throw new Error(`dag-pb node ${cid} of ${sha256} was not kept by the hash worker`);
    const node = dagPb.decode(bytes);
    const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array());
    if (node.Links.length !== unixfs.blockSizes.length) throw new Error(`node ${cid}: ${node.Links.length} links, ${unixfs.blockSizes.length} blocksizes`);
    if (seen) seen.repeats = true;
    else out.set(key, { multihash: key, blobSha256: sha256, codec: DAG_PB_CODE, offset, length: bytes.byteLength, node: bytes, repeats: false });
    let at = offset;
    node.Links.forEach((link, i) => {
      at += visit(link.Hash, at, Number(unixfs.blockSizes[i]));
    });
    return at - offset;
  };
  const total = visit(root, 0, size);
  if (total !== size) throw new Error(`DAG of ${sha256} covers ${total} bytes, the blob has ${size}`);
  return [...out.values()];
}

/**
 * Records a blob's block index (idempotent). `wholeBlobBlock`: the blob is also one raw block named
 * by its sha256 — a manifest, so `CIDv1(raw, sha2-256, on-chain digest)` resolves even when the
 * manifest is larger than one 1 MiB chunk.
 * The rows (one per MiB of blob) go in as one JSON parameter expanded by json_to_recordset: with a
 * bind parameter per column and row (7 per MiB) the insert cost 0.2–0.4 s per 256 MiB upload, mostly
 * building and binding parameters; this way it is one statement with two parameters.
 */
export async function recordDag(db: AnyDb, hashes: ContentHashes, opts: { wholeBlobBlock?: boolean } = {}): Promise<void> {
  const blocks = indexDag(hashes.sha256, hashes.cid, hashes.size, hashes.dagNodes ?? []);
  if (opts.wholeBlobBlock) {
    const whole = multihashHex(CID.createV1(RAW_CODE, Digest.create(SHA2_256_CODE, Buffer.from(hashes.sha256, 'hex'))));
    if (!blocks.some((b) => b.multihash === whole)) {
      blocks.push({ multihash: whole, blobSha256: hashes.sha256, codec: RAW_CODE, offset: 0, length: hashes.size, node: null, repeats: false });
    }
  }
  const json = JSON.stringify(
    blocks.map((b) => ({ m: b.multihash, c: b.codec, o: b.offset, l: b.length, n: b.node ? Buffer.from(b.node).toString('hex') : null, r: b.repeats })),
  );
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into ipfs_block (multihash, blob_sha256, codec, "offset", length, node, repeats)
      select r.m, ${hashes.sha256}, r.c, r.o, r.l, decode(r.n, 'hex'), r.r
        from json_to_recordset(${json}::json) as r(m text, c integer, o bigint, l integer, n text, r boolean)
      on conflict do nothing`);
    await tx.execute(sql`insert into ipfs_dag (blob_sha256, root_cid, blocks) values (${hashes.sha256}, ${hashes.cid}, ${blocks.length})
      on conflict (blob_sha256) do nothing`);
  });
}

function toRow(r: Record<string, unknown>): BlockRow {
  return {
    multihash: r.multihash as string,
    blobSha256: r.blob_sha256 as string,
    codec: Number(r.codec),
    offset: Number(r.offset),
    length: Number(r.length),
    node: r.node == null ? null : new Uint8Array(r.node as Uint8Array),
    repeats: Boolean(r.repeats),
  };
}

/** Every stored copy of a block (one per blob holding it), without the node bytes. */
export async function findBlock(db: AnyDb, multihash: string): Promise<BlockRow[]> {
  const r = await rows<Record<string, unknown>>(
    db,
    sql`select multihash, blob_sha256, codec, "offset", length, null as node, repeats from ipfs_block where multihash = ${multihash}`,
  );
  return r.map(toRow);
}

/**
 * Where a block's copies are (findBlock), remembered for LOCATION_TTL_MS: a pull asks for a thousand
 * leaves of one blob per GiB, one query each made parallel raw blocks slower than /api/blobs. A miss
 * loads every copy of every block of the first blob holding this one (one query: the rest of that
 * file's leaves are what comes next). Rows only appear (ingest) or go with their blob, and the
 * caller still checks that the blob is in the store and may be served, so a stale entry can at
 * worst miss, for LOCATION_TTL_MS, a copy added since.
 */
const LOCATION_TTL_MS = 10_000;
const locations = new WeakMap<object, Map<string, { at: number; rows: BlockRow[] }>>();
export async function findBlockCached(db: AnyDb, multihash: string): Promise<BlockRow[]> {
  let m = locations.get(db);
  if (!m) locations.set(db, (m = new Map()));
  const now = Date.now();
  const hit = m.get(multihash);
  if (hit && now - hit.at < LOCATION_TTL_MS) return hit.rows;
  const own = await findBlock(db, multihash);
  if (own.length === 0) return own; // unknown blocks are not remembered: an upload may add them
  if (m.size > 200_000) m.clear();
  const r = await rows<Record<string, unknown>>(
    db,
    sql`select multihash, blob_sha256, codec, "offset", length, null as node, repeats from ipfs_block
      where multihash in (select multihash from ipfs_block where blob_sha256 = ${own[0]!.blobSha256})`,
  );
  const byHash = new Map<string, BlockRow[]>();
  for (const row of r.map(toRow)) {
    const list = byHash.get(row.multihash);
    if (list) list.push(row);
    else byHash.set(row.multihash, [row]);
  }
  byHash.set(multihash, own);
  for (const [k, v] of byHash) m.set(k, { at: now, rows: v });
  return own;
}

/** One block of one blob, with the node bytes. */
export async function getBlock(db: AnyDb, multihash: string, blobSha256: string): Promise<BlockRow | null> {
  const [r] = await rows<Record<string, unknown>>(
    db,
    sql`select multihash, blob_sha256, codec, "offset", length, node, repeats from ipfs_block where multihash = ${multihash} and blob_sha256 = ${blobSha256}`,
  );
  return r ? toRow(r) : null;
}

/**
 * A dag-pb node's bytes (getBlock's `node`), remembered by multihash: the bytes of a multihash never
 * change, whichever blob holds them, so the cache cannot go stale (access is checked by the caller,
 * as for every block). A pull of a 1 GiB file asks for its root in 64 CAR ranges; fetching the ~40 KB
 * node from the database each time was the largest part of the gateway's per-request CPU.
 */
const nodeBytes = new Map<string, Uint8Array>();
const NODES_KEPT = 64;
export async function getNodeCached(db: AnyDb, multihash: string, blobSha256: string): Promise<Uint8Array | null> {
  const hit = nodeBytes.get(multihash);
  if (hit) return hit;
  const node = (await getBlock(db, multihash, blobSha256))?.node ?? null;
  if (!node) return null;
  if (nodeBytes.size >= NODES_KEPT) nodeBytes.delete(nodeBytes.keys().next().value!);
  nodeBytes.set(multihash, node);
  return node;
}

/** Multihashes that occur more than once in the blob's DAG (what a dups=n CAR must remember). */
export async function repeatedBlocks(db: AnyDb, blobSha256: string): Promise<Set<string>> {
  const r = await rows<{ multihash: string }>(db, sql`select multihash from ipfs_block where blob_sha256 = ${blobSha256} and repeats`);
  return new Set(r.map((x) => x.multihash));
}

export async function hasDag(db: AnyDb, sha256: string): Promise<boolean> {
  return (await rows(db, sql`select 1 from ipfs_dag where blob_sha256 = ${sha256}`)).length > 0;
}

/**
 * Blobs stored before the index existed (or whose indexing a crash cut off) get it now: one
 * hashing pass each, read from the store. A blob whose bytes no longer hash to its name is skipped
 * and reported, never indexed. Returns how many were indexed.
 */
export async function backfillDags(
  db: AnyDb,
  store: ArtifactStore,
  log: (msg: string) => void = () => {},
  signal?: AbortSignal,
): Promise<{ indexed: number; failed: string[] }> {
  const todo = await rows<{ sha256: string; kind: string; cid: string }>(
    db,
    sql`select b.sha256, b.kind, b.cid from blob b where not exists (select 1 from ipfs_dag d where d.blob_sha256 = b.sha256) order by b.sha256`,
  );
  let indexed = 0;
  const failed: string[] = [];
  for (const b of todo) {
    if (signal?.aborted) break;
    if (!(await store.has(b.sha256))) continue;
    const hasher = new StreamingHasher();
    let hashes: ContentHashes;
    try {
      for await (const chunk of store.createReadStream(b.sha256)) await hasher.update(chunk as Uint8Array);
      hashes = await hasher.digest();
    } catch (err) {
      hasher.abort();
      failed.push(b.sha256);
      log(`ipfs backfill: ${b.sha256}: ${(err as Error).message}`);
      continue;
    }
    if (hashes.sha256 !== b.sha256 || hashes.cid !== b.cid) {
      failed.push(b.sha256);
      log(`ipfs backfill: ${b.sha256} hashes to sha256 ${hashes.sha256} / ${hashes.cid} (recorded ${b.cid}); not indexed`);
      continue;
    }
    await recordDag(db, hashes, { wholeBlobBlock: b.kind === 'manifest' });
    indexed++;
  }
  if (todo.length > 0) log(`ipfs backfill: indexed ${indexed} of ${todo.length} blobs${failed.length ? `, ${failed.length} failed` : ''}`);
  return { indexed, failed };
}
