import type { Readable, Writable } from 'node:stream';
import * as dagCbor from '@ipld/dag-cbor';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { varint } from 'multiformats';
import type { CID } from 'multiformats/cid';
import { blockBuffers } from '../artifacts/buffer-pool.ts';
import { DAG_PB_CODE, IDENTITY_CODE, RAW_CODE, multihashHex, type BlockRow } from './dag.ts';

// CARv1 (ipld.io/specs/transport/car/carv1) streamed in DFS order (IPIP-412 `order=dfs`): a varint
// header length + dag-cbor {roots, version: 1}, then per block varint(len(cid) + len(data)) + cid +
// data. Leaves come straight from one sequential read of the blob file (DFS visits a file's leaves
// in byte order), dag-pb nodes from the index: memory stays constant whatever the file size. With
// `dups=n` only blocks the index marks as repeating in the DAG are remembered.

export type DagScope = 'block' | 'entity' | 'all';

export interface CarSource {
  /** the dag-pb node's bytes for a block of the same blob */
  node(multihash: string): Promise<Uint8Array | null>;
  /** multihashes that occur more than once in the blob's DAG */
  repeated(): Promise<Set<string>>;
  /** the blob's bytes from `start` (inclusive) to `end` (inclusive) */
  read(start: number, end: number): Readable;
  /**
   * The same bytes in one positional read into `into` (shorter when the blob ends first), when the
   * store can (the local store): leaves then go out in reused buffers instead of a stream's fresh ones.
   */
  readInto?(into: Buffer, start: number, end: number): Promise<Buffer>;
}

function frame(cid: CID, dataLength: number): Uint8Array {
  const n = cid.bytes.byteLength + dataLength;
  const out = new Uint8Array(varint.encodingLength(n) + cid.bytes.byteLength);
  varint.encodeTo(n, out, 0);
  out.set(cid.bytes, varint.encodingLength(n));
  return out;
}

export function carHeader(root: CID): Uint8Array {
  const header = dagCbor.encode({ roots: [root], version: 1 });
  const out = new Uint8Array(varint.encodingLength(header.byteLength) + header.byteLength);
  varint.encodeTo(header.byteLength, out, 0);
  out.set(header, varint.encodingLength(header.byteLength));
  return out;
}

/**
 * Writes `pieces` corked (one writev), then waits for the drain if the stream asks for one; rejects
 * when the client goes away. `written` runs once the stream is done with the pieces (it may not run
 * at all when the client went away).
 */
function writeAll(out: Writable, pieces: Uint8Array[], written?: () => void): Promise<void> | void {
  if (out.destroyed) throw new Error('client closed the connection');
  out.cork();
  for (const [i, p] of pieces.entries()) out.write(p, i === pieces.length - 1 ? written : undefined);
  out.uncork();
  if (!out.writableNeedDrain) return;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('client closed the connection'));
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}

/**
 * Exact-length pieces of a byte stream read forward only: opened lazily at the first position asked
 * for (a byte range starts mid-file), skipping forward past bytes not wanted.
 */
class Bytes {
  private it: AsyncIterator<Buffer> | null = null;
  private pending: Buffer | null = null;
  private stream: Readable | null = null;
  /** the position (relative to the start of the file) of the next unread byte */
  private pos = 0;
  constructor(private readonly open: (at: number) => Readable) {}
  async *take(at: number, n: number): AsyncGenerator<Buffer> {
    if (!this.it) {
      this.stream = this.open(at);
      this.it = this.stream[Symbol.asyncIterator]();
      this.pos = at;
    }
    if (at < this.pos) throw new Error(`blob read went backwards (${at} < ${this.pos})`);
    let skip = at - this.pos;
    while (n > 0 || skip > 0) {
      if (!this.pending || this.pending.byteLength === 0) {
        const r = await this.it.next();
        if (r.done) throw new Error('blob is shorter than its DAG');
        this.pending = r.value as Buffer;
      }
      if (skip > 0) {
        const k = Math.min(skip, this.pending.byteLength);
        this.pending = this.pending.subarray(k);
        this.pos += k;
        skip -= k;
        continue;
      }
      const k = Math.min(n, this.pending.byteLength);
      yield this.pending.subarray(0, k);
      this.pending = this.pending.subarray(k);
      this.pos += k;
      n -= k;
    }
  }
  close() {
    this.stream?.destroy();
  }
}

/** A resolved `entity-bytes` range of a file: first and last byte, inclusive. */
export interface ByteRange {
  from: number;
  to: number;
}

interface FileNode {
  links: CID[];
  /** the bytes under each link (UnixFS blocksizes) */
  sizes: number[];
  fileSize: number;
}

/**
 * Decoded UnixFS file nodes by multihash (content-addressed: an entry never goes stale). A pull asks
 * for a 1 GiB file as 64 byte ranges, each walked twice (length, bytes): decoding the root's 1024
 * links every time cost more server CPU than chunked framing saved. A few entries of ~200 KB each.
 */
const fileNodes = new Map<string, FileNode>();
const FILE_NODES_KEPT = 16;
function fileNode(mh: string, bytes: Uint8Array): FileNode {
  const hit = fileNodes.get(mh);
  if (hit) return hit;
  const decoded = dagPb.decode(bytes);
  const unixfs = UnixFS.unmarshal(decoded.Data ?? new Uint8Array());
  const n: FileNode = { links: decoded.Links.map((l) => l.Hash), sizes: unixfs.blockSizes.map(Number), fileSize: Number(unixfs.fileSize()) };
  if (fileNodes.size >= FILE_NODES_KEPT) fileNodes.delete(fileNodes.keys().next().value!);
  fileNodes.set(mh, n);
  return n;
}

/** One CAR section: a block whose bytes are in hand (a dag-pb node), or a leaf at `at` in the file. */
type Section = { cid: CID; bytes: Uint8Array } | { cid: CID; at: number; size: number };

/**
 * The sections of the CAR for `root` (found as `row`) in DFS order, without reading any leaf: the
 * blocks `scope` asks for. For UnixFS files `entity` is the whole file, the same blocks as `all`.
 * With `range` (`entity-bytes`, scope entity) only the blocks needed to verify those bytes: the
 * nodes on the paths from the root and the leaves overlapping the range. Walked twice per response
 * (once for Content-Length, once to write), so it holds nothing but the dups=n set.
 */
async function* sections(root: CID, row: BlockRow | null, scope: DagScope, dups: boolean, src: CarSource, range: ByteRange | null): AsyncGenerator<Section> {
  // identity CIDs are never sent as blocks (the spec's MUST NOT): their data is in the CID
  if (root.multihash.code === IDENTITY_CODE || !row) return;
  if (row.codec === RAW_CODE) {
    yield { cid: root, at: 0, size: row.length };
    return;
  }
  const rootNode = row.node ?? (await src.node(row.multihash));
  if (!rootNode) throw new Error(`dag-pb node ${root} has no bytes in the index`);
  // a raw CID naming a node's bytes: the block is those bytes, no traversal
  if (root.code === RAW_CODE || scope === 'block') {
    yield { cid: root, bytes: rootNode };
    return;
  }
  const repeated = dups ? new Set<string>() : await src.repeated();
  const seen = new Set<string>();
  /** true when the block is sent; false when dups=n and it was sent before */
  const firstTime = (cid: CID) => {
    if (repeated.size === 0) return true; // dups=y, or nothing repeats: no key needed
    const mh = multihashHex(cid);
    if (!repeated.has(mh)) return true;
    if (seen.has(mh)) return false;
    seen.add(mh);
    return true;
  };
  const outside = (at: number, size: number) => range !== null && (at + size <= range.from || at > range.to);
  async function* visit(cid: CID, at: number, size: number, nodeBytes?: Uint8Array): AsyncGenerator<Section> {
    if (cid.code !== DAG_PB_CODE) throw new Error(`unexpected codec in DAG: ${cid}`);
    if (outside(at, size)) return;
    const send = firstTime(cid);
    // its whole subtree was sent already (with a range, only part of it may have been: walk it again)
    if (!send && range === null) return;
    const mh = multihashHex(cid);
    const node = nodeBytes ?? (await src.node(mh));
    if (!node) throw new Error(`dag-pb node ${cid} has no bytes in the index`);
    if (send) yield { cid, bytes: node };
    const { links, sizes } = fileNode(mh, node);
    let childAt = at;
    for (let i = 0; i < links.length; i++) {
      const child = links[i]!;
      const n = sizes[i]!;
      // leaves inline: no generator per link (a byte range skips most of a node's 1024)
      if (child.code !== RAW_CODE) yield* visit(child, childAt, n);
      else if (!outside(childAt, n) && firstTime(child)) yield { cid: child, at: childAt, size: n };
      childAt += n;
    }
  }
  yield* visit(root, 0, fileNode(row.multihash, rootNode).fileSize, rootNode);
}

const sectionLength = (s: Section) => {
  const n = s.cid.bytes.byteLength + ('bytes' in s ? s.bytes.byteLength : s.size);
  return varint.encodingLength(n) + n;
};

/**
 * The byte length of the CAR writeCar sends for these arguments, known before the first byte (the
 * DAG's nodes are in the index, the leaves' sizes in the nodes): the response carries a
 * Content-Length instead of chunked framing.
 */
export async function carLength(
  root: CID,
  row: BlockRow | null,
  scope: DagScope,
  dups: boolean,
  src: CarSource,
  range: ByteRange | null = null,
): Promise<number> {
  let n = carHeader(root).byteLength;
  for await (const s of sections(root, row, scope, dups, src, range)) n += sectionLength(s);
  return n;
}

/**
 * Streams the CAR for `root` (found as `row`) to `out`: the header, then the blocks `scope` (and
 * `range`) ask for (see sections). Leaves come from one forward read of the blob, starting at the
 * first leaf sent; each section (frame + bytes) goes out corked, in one writev.
 */
export async function writeCar(
  out: Writable,
  root: CID,
  row: BlockRow | null,
  scope: DagScope,
  dups: boolean,
  src: CarSource,
  range: ByteRange | null = null,
): Promise<void> {
  await writeAll(out, [carHeader(root)]);
  if (!row || root.multihash.code === IDENTITY_CODE) return;
  let fileSize = row.length;
  if (row.codec === DAG_PB_CODE) {
    const node = row.node ?? (await src.node(row.multihash));
    if (!node) throw new Error(`dag-pb node ${root} has no bytes in the index`);
    row = { ...row, node };
    fileSize = fileNode(row.multihash, node).fileSize;
  }
  const blob = row;
  const bytes = new Bytes((at) => src.read(blob.offset + at, blob.offset + Math.max(fileSize, 1) - 1));
  try {
    for await (const s of sections(root, row, scope, dups, src, range)) {
      if (src.readInto && !('bytes' in s) && s.size > 0) {
        // a leaf in one positional read into a reused buffer, given back once the socket has it
        const buf = blockBuffers.take(s.size);
        const leaf = await src.readInto(buf, blob.offset + s.at, blob.offset + s.at + s.size - 1);
        if (leaf.byteLength !== s.size) throw new Error('blob is shorter than its DAG');
        await writeAll(out, [frame(s.cid, s.size), leaf], () => blockBuffers.give(buf));
        continue;
      }
      const pieces: Uint8Array[] = [frame(s.cid, 'bytes' in s ? s.bytes.byteLength : s.size)];
      if ('bytes' in s) pieces.push(s.bytes);
      else if (s.size > 0) for await (const piece of bytes.take(s.at, s.size)) pieces.push(piece);
      await writeAll(out, pieces);
    }
  } finally {
    bytes.close();
  }
}
