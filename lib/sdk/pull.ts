import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { LocalAccount } from 'viem/accounts';
import { connectChain, type ChainConnection } from './chain.ts';
import { ModelDaoError } from './errors.ts';
import { requestAccess } from './access.ts';
import { digestHex, parseManifest, sha256Hex, writeFileAtomic, type Manifest, type ManifestFile } from './manifest.ts';
import { GatewayHttpError, httpError, readBody, request, trimSlash } from './net.ts';
import { defaultCacheDir, safeJoin } from './paths.ts';
import { cacheLayout, isLocalIoError, isVerified, localError, recordVerified, reverify } from './cache.ts';
import { withLock } from './lock.ts';
import { rawGet, RawGetUnsupported } from './rawget.ts';
import { Sha256Worker } from './sha256-worker.ts';
import { resolveApproved, type ApprovedVersion, type ResolveOptions } from './resolve.ts';
import { IpfsFetchError, IpfsGatewayPool, fetchFileByCid } from './ipfs.ts';
import { openDirect } from './leaf-file.ts';

export interface PullProgress {
  totalBytes: number;
  doneBytes: number;
  filesTotal: number;
  filesDone: number;
}

export interface PullOptions extends ResolveOptions {
  /** Gateways (servers with /api/manifests and /api/blobs), tried in order. Default $MODELDAO_GATEWAY (comma-separated) or http://127.0.0.1:3000. */
  gateways?: string[];
  /**
   * IPFS trustless gateways (ours at <server>/ipfs/, a public one, an operator's Kubo): the manifest
   * by its CID, then each file's blocks by the CIDs the manifest lists, each block verified as it
   * arrives. Mixable with `gateways` (tried for the manifest first, and for a file the IPFS gateways
   * could not deliver). With only IPFS gateways, no default `gateways` are used.
   */
  ipfsGateways?: string[];
  /** A block not complete after this long is a stall: that gateway is dropped (default 60 s). */
  ipfsBlockTimeoutMs?: number;
  /** Blocks fetched at once per file over IPFS (default 16). */
  ipfsConcurrency?: number;
  /** Also materialize the files here (copies; `link: true` for hard links). */
  out?: string;
  link?: boolean;
  /** Default $MODELDAO_CACHE or ~/.cache/modeldao. */
  cacheDir?: string;
  /** Signs AccessRequests for gated models. */
  account?: LocalAccount;
  /** A token already obtained from POST /api/access (used for every gateway). */
  accessToken?: string;
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  onProgress?: (p: PullProgress) => void;
  /** Human-readable notes: gateway failovers, resumes. */
  onNotice?: (message: string) => void;
}

export interface PulledFile extends ManifestFile {
  /** The verified blob in the cache. */
  blobPath: string;
  /** Where it was materialized (snapshot link, or --out copy). */
  localPath: string;
  fromCache: boolean;
}

export interface PullResult {
  approved: ApprovedVersion;
  manifest: Manifest;
  snapshotDir: string;
  outDir?: string;
  files: PulledFile[];
  bytesDownloaded: number;
  /** Wall time per phase (ms): chain reads, manifest, downloads, cache/snapshot/out. */
  timings: { chainMs: number; manifestMs: number; downloadMs: number; finishMs: number };
}

export function defaultGateways(): string[] {
  const env = process.env.MODELDAO_GATEWAY;
  const listed = (env ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return listed.length > 0 ? listed : ['http://127.0.0.1:3000']; // never empty
}

class Failure extends Error {
  constructor(
    readonly kind: 'network' | 'integrity' | 'access' | 'missing',
    message: string,
  ) {
    super(message);
  }
}

/** Tokens per gateway for gated models (each server signs its own). */
class GatewayAuth {
  private tokens = new Map<string, Promise<string>>();
  constructor(
    private approved: ApprovedVersion,
    private opts: PullOptions,
  ) {}
  get gated(): boolean {
    return this.approved.access.kind !== 'public';
  }
  async headers(gateway: string): Promise<Record<string, string>> {
    if (!this.gated) return {};
    if (this.opts.accessToken) return { authorization: `Bearer ${this.opts.accessToken}` };
    if (!this.opts.account) return {};
    let t = this.tokens.get(gateway);
    if (!t) {
      t = requestAccess({
        gateway,
        account: this.opts.account,
        chainId: this.approved.chainId,
        registry: this.approved.registry,
        modelId: this.approved.modelId,
      }).then((r) => r.token);
      this.tokens.set(gateway, t);
      t.catch(() => this.tokens.delete(gateway));
    }
    return { authorization: `Bearer ${await t}` };
  }
  deniedMessage(gateway: string, err: GatewayHttpError): string {
    if (!this.opts.account && !this.opts.accessToken) {
      return `model "${this.approved.slug}" is gated (${this.approved.access.kind}); pass --key (or set MODELDAO_PRIVATE_KEY) to sign an access request — ${gateway} said: ${err.message}`;
    }
    return `access refused by ${gateway}: ${err.message}`;
  }
}

function classify(err: unknown, gateway: string, auth: GatewayAuth): Failure {
  if (err instanceof Failure) return err;
  if (err instanceof ModelDaoError) return new Failure(err.kind === 'access' ? 'access' : 'network', err.message);
  if (err instanceof GatewayHttpError) {
    if (err.status === 401 || err.status === 403) return new Failure('access', auth.deniedMessage(gateway, err));
    if (err.status === 404) return new Failure('missing', `${gateway} does not have it (${err.message})`);
    return new Failure('network', `${gateway}: ${err.message}`);
  }
  return new Failure('network', `${gateway}: ${err instanceof Error ? err.message : String(err)}`);
}

function giveUp(what: string, failures: Failure[]): ModelDaoError {
  const detail = failures.map((f) => `  - ${f.message}`).join('\n');
  const kind = failures.some((f) => f.kind === 'integrity')
    ? 'integrity'
    : failures.length > 0 && failures.every((f) => f.kind === 'access')
      ? 'access'
      : failures.every((f) => f.kind === 'missing')
        ? 'not_found'
        : 'network';
  const code =
    kind === 'integrity' ? 'digest_mismatch' : kind === 'access' ? 'access_denied' : kind === 'not_found' ? 'not_on_any_gateway' : 'all_gateways_failed';
  return new ModelDaoError(kind, code, `${what}: no gateway delivered verified bytes\n${detail}`);
}

/** Fetches the manifest from a gateway and accepts it only if its sha256 is the digest on chain. */
async function fetchManifest(
  approved: ApprovedVersion,
  gateways: string[],
  cacheDir: string,
  auth: GatewayAuth,
  notice: (m: string) => void,
  ipfs: IpfsGatewayPool | null,
): Promise<{ manifest: Manifest; bytes: Buffer }> {
  const hex = digestHex(approved.manifestDigest);
  const cached = path.join(cacheDir, 'manifests', `${hex}.json`);
  try {
    const bytes = fs.readFileSync(cached);
    if (sha256Hex(bytes) === hex) return { manifest: parseManifest(bytes, approved.slug), bytes };
  } catch (err) {
    if (err instanceof ModelDaoError) throw err;
  }
  const failures: Failure[] = [];
  for (const gw of gateways) {
    const url = `${trimSlash(gw)}/api/manifests/0x${hex}`;
    try {
      const res = await request(url, { headers: { accept: 'application/json', ...(await auth.headers(gw)) } });
      if ((res.statusCode ?? 0) !== 200) throw await httpError(res, url);
      const bytes = await readBody(res, 32 * 1024 * 1024);
      const got = sha256Hex(bytes);
      if (got !== hex) {
        throw new Failure('integrity', `gateway ${gw} served a manifest with sha256 ${got}, but the chain approved ${hex} — ignoring that gateway`);
      }
      const manifest = parseManifest(bytes, approved.slug);
      writeFileAtomic(cached, bytes);
      return { manifest, bytes };
    } catch (err) {
      if (err instanceof ModelDaoError && err.kind === 'integrity') throw err; // approved bytes are themselves unusable
      if (isLocalIoError(err)) throw localError(err, `caching the manifest in ${cacheDir}`);
      const f = classify(err, gw, auth);
      failures.push(f);
      if (gateways.length > 1 || ipfs) notice(f.message);
    }
  }
  if (ipfs) {
    try {
      // the block's hash is the digest on chain: a verified block is the approved manifest
      const bytes = await ipfs.fetchManifest(hex);
      const manifest = parseManifest(bytes, approved.slug);
      writeFileAtomic(cached, bytes);
      return { manifest, bytes };
    } catch (err) {
      if (err instanceof ModelDaoError) throw err;
      if (!(err instanceof IpfsFetchError)) throw err;
      for (const f of err.failures) failures.push(new Failure(f.kind, `IPFS gateway ${f.gateway}: ${f.message}`));
    }
  }
  throw giveUp(`manifest 0x${hex} of ${approved.slug} v${approved.version}`, failures);
}

interface BodySink {
  onHead(head: { status: number; headers: Record<string, string | string[] | undefined> }): void;
  onData(chunk: Buffer): void;
}

/** The same GET through node:http (https gateways, or servers rawGet does not handle). */
async function nodeHttpGet(url: string, headers: Record<string, string>, sink: BodySink): Promise<void> {
  const res = await request(url, { headers });
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw await httpError(res, url);
  sink.onHead({ status, headers: res.headers });
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      try {
        sink.onData(chunk);
      } catch (err) {
        res.destroy();
        reject(err);
      }
    });
    res.on('error', (e) => reject(new Error(`connection lost after ${received} body bytes (${e.message})`)));
    res.on('aborted', () => reject(new Error(`connection lost after ${received} body bytes`)));
    res.on('end', () => resolve());
  });
}

/**
 * One attempt at one file from one gateway: resumes `part` with a Range request, hashes while
 * receiving (each socket read is copied into the sha256 worker's ring, from where one thread hashes it
 * and another writes it at its position), and on success leaves `part` complete and verified (the
 * caller renames it).
 */
async function fetchBlobOnce(
  gw: string,
  file: ManifestFile,
  part: string,
  auth: GatewayAuth,
  progress: (delta: number) => void,
  hasher: Sha256Worker,
  uncounted: { n: number } = { n: 0 },
): Promise<{ resumedFrom: number }> {
  let have = 0;
  try {
    have = (await fsp.stat(part)).size;
  } catch {
    /* fresh */
  }
  if (have > file.size) {
    await fsp.truncate(part, 0);
    have = 0;
  }
  const resumedFrom = have;
  // An empty file needs no request, but it still gets its .incomplete name on the way into the cache.
  if (file.size === 0) await fsp.writeFile(part, '');
  // Hashed on the worker thread; an attempt that fails leaves its hash there until the pull ends.
  let hash = hasher.hash();
  if (have > 0) {
    const rs = fs.createReadStream(part, { start: 0, end: have - 1, highWaterMark: 8 * 1024 * 1024 });
    for await (const c of rs) hash.update(c as Buffer);
  }
  if (have < file.size) {
    const url = `${trimSlash(gw)}/api/blobs/${file.sha256}`;
    const headers: Record<string, string> = { ...(await auth.headers(gw)) };
    if (have > 0) headers.range = `bytes=${have}-`;
    // Never opened with O_TRUNC: the part file is only ever this lock holder's, and what it holds is
    // either resumed (hashed above) or cut back explicitly below.
    const fd = fs.openSync(part, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    // Cut back only a file that has bytes: truncating even an empty file makes ext4 (auto_da_alloc)
    // start writeback of the whole file in close(): 150-180 ms of blocked main thread per 512 MiB.
    if (have === 0 && fs.fstatSync(fd).size > 0) fs.ftruncateSync(fd, 0);
    // Page-cache writes of incompressible bytes cost this kind of machine 1.5-2 CPU s/GiB, direct
    // ones ~0.1: the writer thread stages the stream and writes whole blocks with O_DIRECT (see
    // Sha256Worker.writeDirect), where the file system allows it.
    const directFd = openDirect(part);
    let staging = false;
    let pos = have;
    const sink: BodySink = {
      onHead({ status, headers: h }) {
        if (status === 206 && have > 0) {
          const m = /^bytes (\d+)-/.exec(String(h['content-range'] ?? ''));
          if (!m || Number(m[1]) !== have)
            throw new Failure('network', `${gw} answered a Range request for ${file.path} with the wrong range (${h['content-range']})`);
        } else if (status === 200) {
          if (have > 0) {
            // The server ignored Range: start over. No write of this attempt is queued yet (the head
            // comes before any body byte), so nothing stale can land after the cut.
            progress(-(have - uncounted.n)); // what this pull had counted of them
            uncounted.n = 0;
            have = 0;
            pos = 0;
            fs.ftruncateSync(fd, 0);
            hash.discard();
            hash = hasher.hash();
            staging = false;
          }
        } else {
          throw new Failure('network', `${gw} answered ${status} for ${file.path}`);
        }
      },
      onData(chunk) {
        if (pos + chunk.length > file.size)
          throw new Failure('integrity', `gateway ${gw} served more than ${file.size} bytes for ${file.path} (sha256 ${file.sha256})`);
        if (!staging && directFd !== null) {
          hash.writeDirect(directFd, `${part}.direct-probe`);
          staging = true;
        }
        hash.updateAndWrite(chunk, fd, pos);
        pos += chunk.length;
        progress(chunk.length);
      },
    };
    try {
      try {
        await rawGet(new URL(url), headers, sink);
      } catch (err) {
        if (!(err instanceof RawGetUnsupported)) throw err;
        await nodeHttpGet(url, headers, sink);
      }
      if (pos < file.size) throw new Failure('network', `${gw} ended ${file.path} after ${pos} of ${file.size} bytes (truncated)`);
      await hash.written();
      // Durable before it gets its final name: opt in with MODELDAO_FSYNC=1 (see docs/consumers.md).
      if (process.env.MODELDAO_FSYNC === '1') fs.fsyncSync(fd);
    } catch (err) {
      // Whatever went wrong, the queued writes finish before the fd closes (the part file must hold a
      // prefix for the next attempt); a failed write is this disk's problem, reported as such.
      const writeErr = await hash.written().then(
        () => null,
        (e: unknown) => e,
      );
      if (isLocalIoError(writeErr)) throw writeErr;
      if (err instanceof Failure || err instanceof GatewayHttpError || isLocalIoError(err)) throw err;
      throw new Failure('network', `${gw} broke off ${file.path} after ${pos} of ${file.size} bytes (${err instanceof Error ? err.message : err})`);
    } finally {
      fs.closeSync(fd);
      if (directFd !== null) fs.closeSync(directFd);
    }
  }
  const got = await hash.digest();
  if (got !== file.sha256) {
    if (resumedFrom === file.size) throw new Failure('integrity', `partial download of ${file.path} is corrupt (sha256 ${got}, expected ${file.sha256})`);
    throw new Failure(
      'integrity',
      `gateway ${gw} served wrong bytes for ${file.path}: sha256 ${got}, expected ${file.sha256} (approved on chain)${resumedFrom > 0 && have > 0 ? ` [resumed from ${resumedFrom} bytes]` : ''}`,
    );
  }
  return { resumedFrom };
}

/**
 * One blob into the cache, holding its lock (`.locks/<sha256>.lock`) so that processes pulling into
 * the same cache never write the same partial file at once: whoever comes second waits, then finds
 * the blob verified and uses it. Returns whether this call downloaded it.
 */
async function downloadFile(
  file: ManifestFile,
  gateways: string[],
  cacheDir: string,
  auth: GatewayAuth,
  progress: (delta: number) => void,
  notice: (m: string) => void,
  hasher: Sha256Worker,
  ipfs?: { pool: IpfsGatewayPool; concurrency: number },
): Promise<{ blob: string; downloaded: boolean }> {
  const { blobs, locks } = cacheLayout(cacheDir);
  const lockFile = path.join(locks, `${file.sha256}.lock`);
  try {
    return await withLock(
      lockFile,
      { onWait: (h) => notice(`waiting for ${h ? `process ${h.pid}` : 'another process'} to finish ${file.path} (lock ${lockFile})`) },
      async () => {
        if (isVerified(cacheDir, file.sha256, file.size) || (await reverify(cacheDir, file.sha256, file.size)))
          return { blob: path.join(blobs, file.sha256), downloaded: false };
        let blob: string;
        if (ipfs) {
          // Over IPFS first; a file the IPFS gateways could not deliver falls back to /api/blobs.
          const r = await downloadFileIpfs(file, ipfs.pool, blobs, ipfs.concurrency, progress, notice, hasher);
          if (typeof r === 'string') blob = r;
          else {
            if (gateways.length === 0) throw giveUp(`${file.path} (sha256 ${file.sha256}, CID ${file.cid ?? 'none'})`, r);
            notice(`${file.path}: IPFS gateways failed (${r.map((x) => x.message).join('; ')}); trying ${gateways.join(', ')}`);
            blob = await downloadLocked(file, gateways, blobs, auth, progress, notice, hasher);
          }
        } else blob = await downloadLocked(file, gateways, blobs, auth, progress, notice, hasher);
        recordVerified(cacheDir, file.sha256);
        return { blob, downloaded: true };
      },
    );
  } catch (err) {
    if (isLocalIoError(err)) throw localError(err, `writing ${file.path} into the cache ${cacheDir}`);
    throw err;
  }
}

/**
 * Over IPFS: the file's blocks by the CID its (chain-verified) manifest lists. Resumable from
 * `<blob>.ipfs-incomplete` (its own name: blocks arrive out of order, so its size is not a resume
 * offset for /api/blobs). Returns the failures when the IPFS gateways could not deliver it.
 */
async function downloadFileIpfs(
  file: ManifestFile,
  ipfs: IpfsGatewayPool,
  blobsDir: string,
  concurrency: number,
  progress: (delta: number) => void,
  notice: (m: string) => void,
  hasher: Sha256Worker,
): Promise<string | Failure[]> {
  const blob = path.join(blobsDir, file.sha256);
  if (!file.cid) return [new Failure('missing', `the manifest lists no CID for ${file.path}: it cannot be fetched over IPFS`)];
  const part = `${blob}.ipfs-incomplete`;
  let counted = 0;
  try {
    const r = await fetchFileByCid(ipfs, { path: file.path, size: file.size, sha256: file.sha256, cid: file.cid }, part, {
      concurrency,
      sha256: () => hasher.hash(), // the file's sha256 on the worker thread; the blocks' CID checks stay here
      progress: (d) => {
        counted += d;
        progress(d);
      },
    });
    if (r.resumedBytes > 0) notice(`resumed ${file.path} over IPFS: ${r.resumedBytes} bytes were already here`);
    await fsp.rename(part, blob);
    return blob;
  } catch (err) {
    if (err instanceof IpfsFetchError) {
      progress(-counted); // kept in the partial file for a later resume, but not delivered
      return err.failures.map((f) => new Failure(f.kind, `IPFS gateway ${f.gateway}: ${f.message}`));
    }
    if (err instanceof Error && /approved manifest says|DAG|blocksizes|codec|UnixFS|inline data|covers|block limit/.test(err.message)) {
      progress(-counted);
      return [new Failure('integrity', err.message)];
    }
    throw err;
  }
}

async function downloadLocked(
  file: ManifestFile,
  gateways: string[],
  blobsDir: string,
  auth: GatewayAuth,
  progress: (delta: number) => void,
  notice: (m: string) => void,
  hasher: Sha256Worker,
): Promise<string> {
  const blob = path.join(blobsDir, file.sha256);
  const part = `${blob}.incomplete`;
  const failures: Failure[] = [];
  // Progress counts the part file's bytes this pull brought; those an earlier process left at its
  // start are not (until the part is cut or removed).
  const uncounted = {
    n: await fsp.stat(part).then(
      (st) => st.size,
      () => 0,
    ),
  };
  for (const gw of gateways) {
    for (let attempt = 0; attempt < 2; attempt++) {
      let before = 0;
      try {
        before = (await fsp.stat(part)).size;
      } catch {
        /* none */
      }
      const countedBefore = before - uncounted.n; // what progress already holds for this file
      const counted = { n: 0 };
      const track = (d: number) => {
        counted.n += d;
        progress(d);
      };
      try {
        if (before > 0) notice(`resuming ${file.path} at ${before} bytes from ${gw}`);
        await fetchBlobOnce(gw, file, part, auth, track, hasher, uncounted);
        await fsp.rename(part, blob);
        return blob;
      } catch (err) {
        if (isLocalIoError(err)) throw err; // this machine's disk, not the gateway: no other gateway helps
        const f = classify(err, gw, auth);
        if (f.kind === 'integrity') {
          // Bad bytes never stay in the cache; retry once from zero if we had resumed someone's partial.
          progress(-(counted.n + countedBefore));
          uncounted.n = 0;
          await fsp.rm(part, { force: true });
          if (before > 0 && attempt === 0) {
            notice(`${f.message}; retrying ${file.path} from the start`);
            continue;
          }
        } else {
          // Keep what arrived; the next gateway resumes from it. Progress keeps those bytes.
          let now = 0;
          try {
            now = (await fsp.stat(part)).size;
          } catch {
            /* none */
          }
          progress(now - uncounted.n - countedBefore - counted.n);
        }
        failures.push(f);
        if (gateways.length > 1 || f.kind === 'integrity') notice(f.message);
        break;
      }
    }
  }
  throw giveUp(`${file.path} (sha256 ${file.sha256})`, failures);
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: unknown;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length && firstError === undefined) {
      const item = items[next++]!; // next < items.length
      try {
        await fn(item);
      } catch (err) {
        firstError ??= err;
      }
    }
  });
  await Promise.all(workers);
  if (firstError !== undefined) throw firstError;
}

export interface Origin {
  slug: string;
  version: number;
  manifestDigest: string;
  chainId: number;
  registry: string;
  pulledAt: string;
}

/** Snapshot folder: relative symlinks into blobs/, plus .modeldao/{origin,manifest}.json. Replaced atomically. */
async function writeSnapshot(cacheDir: string, approved: ApprovedVersion, manifestBytes: Buffer, files: ManifestFile[]): Promise<string> {
  // One builder at a time per snapshot: a second process finds it built (origin matches) and keeps it.
  const lockFile = path.join(cacheLayout(cacheDir).locks, 'snapshots', approved.slug, `${approved.version}.lock`);
  return withLock(lockFile, {}, () => buildSnapshot(cacheDir, approved, manifestBytes, files));
}

async function buildSnapshot(cacheDir: string, approved: ApprovedVersion, manifestBytes: Buffer, files: ManifestFile[]): Promise<string> {
  const parent = path.join(cacheDir, 'snapshots', approved.slug);
  const dir = path.join(parent, String(approved.version));
  const originFile = path.join(dir, '.modeldao', 'origin.json');
  try {
    const o = JSON.parse(fs.readFileSync(originFile, 'utf8')) as Origin;
    if (o.manifestDigest === approved.manifestDigest && o.chainId === approved.chainId && o.registry === approved.registry) return dir;
  } catch {
    /* build it */
  }
  const tmp = path.join(parent, `.tmp-${approved.version}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp, { recursive: true });
  for (const f of files) {
    const link = safeJoin(tmp, f.path);
    await fsp.mkdir(path.dirname(link), { recursive: true });
    const target = path.join(cacheDir, 'blobs', f.sha256);
    // Relative to where the link will finally live (same depth as in tmp).
    await fsp.symlink(path.relative(path.dirname(safeJoin(dir, f.path)), target), link);
  }
  await writeMeta(tmp, approved, manifestBytes);
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.rename(tmp, dir);
  return dir;
}

async function writeMeta(dir: string, approved: ApprovedVersion, manifestBytes: Buffer): Promise<void> {
  const origin: Origin = {
    slug: approved.slug,
    version: approved.version,
    manifestDigest: approved.manifestDigest,
    chainId: approved.chainId,
    registry: approved.registry,
    pulledAt: new Date().toISOString(),
  };
  writeFileAtomic(path.join(dir, '.modeldao', 'origin.json'), JSON.stringify(origin, null, 2) + '\n');
  writeFileAtomic(path.join(dir, '.modeldao', 'manifest.json'), manifestBytes);
}

/** Copies (reflink where the filesystem can) or hard-links each verified blob into `out`, via temp name + rename. */
async function materialize(out: string, approved: ApprovedVersion, manifestBytes: Buffer, files: PulledFile[], link: boolean): Promise<void> {
  await fsp.mkdir(out, { recursive: true });
  for (const f of files) {
    const dest = safeJoin(out, f.path);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.modeldao-${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      if (link) {
        try {
          await fsp.link(f.blobPath, tmp);
        } catch {
          await fsp.copyFile(f.blobPath, tmp, fs.constants.COPYFILE_FICLONE);
        }
      } else {
        await fsp.copyFile(f.blobPath, tmp, fs.constants.COPYFILE_FICLONE);
      }
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    f.localPath = dest;
  }
  await writeMeta(out, approved, manifestBytes);
}

/**
 * The approved version (from the chain) and its manifest (sha256 checked against the digest on chain,
 * cached), without downloading any file: for callers that fetch the files themselves
 * (lib/sdk/stream.ts, behind `modeldao hf-endpoint`). Gateways as `pull` picks them.
 */
export async function approvedManifest(
  opts: PullOptions,
  resolved?: ApprovedVersion,
): Promise<{ approved: ApprovedVersion; manifest: Manifest; gateways: string[]; cacheDir: string }> {
  const approved = resolved ?? (await resolveApproved({ ...opts, chain: opts.chain ?? (await connectChain(opts)) }));
  const gateways = (opts.gateways && opts.gateways.length > 0 ? opts.gateways : defaultGateways()).map(trimSlash);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const auth = new GatewayAuth(approved, opts);
  const { manifest } = await fetchManifest(approved, gateways, cacheDir, auth, opts.onNotice ?? (() => {}), null);
  return { approved, manifest, gateways, cacheDir };
}

/**
 * Pulls the approved version of a model: version and manifest digest from the chain, manifest from a
 * gateway (sha256 checked against the chain), every file hashed while streaming and checked against
 * the manifest, resumable, failing over across gateways; only verified blobs enter the cache.
 */
export async function pull(opts: PullOptions): Promise<PullResult> {
  const t0 = performance.now();
  const chain: ChainConnection = opts.chain ?? (await connectChain(opts));
  const approved = await resolveApproved({ ...opts, chain });
  const t1 = performance.now();
  const ipfsGateways = (opts.ipfsGateways ?? []).map(trimSlash);
  const gateways = (opts.gateways && opts.gateways.length > 0 ? opts.gateways : ipfsGateways.length > 0 ? [] : defaultGateways()).map(trimSlash);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const notice = opts.onNotice ?? (() => {});
  const auth = new GatewayAuth(approved, opts);
  const ipfs =
    ipfsGateways.length > 0
      ? new IpfsGatewayPool({ gateways: ipfsGateways, headers: (gw) => auth.headers(gw), blockTimeoutMs: opts.ipfsBlockTimeoutMs, notice })
      : null;

  const { manifest, bytes: manifestBytes } = await fetchManifest(approved, gateways, cacheDir, auth, notice, ipfs);
  const t2 = performance.now();
  const blobsDir = cacheLayout(cacheDir).blobs;
  await fsp.mkdir(blobsDir, { recursive: true }).catch((err: unknown) => {
    throw isLocalIoError(err) ? localError(err, `creating the cache ${cacheDir}`) : err;
  });

  // Same content listed twice downloads once.
  const unique = new Map<string, ManifestFile>();
  for (const f of manifest.files) unique.set(f.sha256, f);
  const todo: ManifestFile[] = [];
  const fromCache = new Set<string>();
  for (const f of unique.values()) {
    // Trusted only with a verification record for this very file; anything else is checked (or
    // fetched) under the blob's lock.
    if (isVerified(cacheDir, f.sha256, f.size)) fromCache.add(f.sha256);
    else todo.push(f);
  }
  const progress: PullProgress = { totalBytes: todo.reduce((s, f) => s + f.size, 0), doneBytes: 0, filesTotal: todo.length, filesDone: 0 };
  let downloaded = 0;
  const onDelta = (d: number) => {
    progress.doneBytes += d;
    downloaded += d;
    opts.onProgress?.(progress);
  };
  opts.onProgress?.(progress);
  // Biggest first, so the long poles start early.
  todo.sort((a, b) => b.size - a.size);
  // The files' sha256 runs on a second thread (and /api/blobs bodies are written by a third) while this one receives.
  const hasher = todo.length > 0 ? new Sha256Worker() : null;
  try {
    await pool(todo, opts.concurrency ?? 4, async (f) => {
      const { downloaded: fetched } = await downloadFile(
        f,
        gateways,
        cacheDir,
        auth,
        onDelta,
        notice,
        hasher!, // todo is not empty
        ipfs ? { pool: ipfs, concurrency: opts.ipfsConcurrency ?? 16 } : undefined,
      );
      if (!fetched) {
        // Another process (or an unrecorded earlier pull) had it: nothing to download after all.
        fromCache.add(f.sha256);
        progress.totalBytes -= f.size;
        progress.filesTotal--;
      } else progress.filesDone++;
      opts.onProgress?.(progress);
    });
  } finally {
    await hasher?.close();
  }

  const t3 = performance.now();
  const files: PulledFile[] = manifest.files.map((f) => ({ ...f, blobPath: path.join(blobsDir, f.sha256), localPath: '', fromCache: fromCache.has(f.sha256) }));
  let snapshotDir: string;
  let outDir: string | undefined;
  try {
    snapshotDir = await writeSnapshot(cacheDir, approved, manifestBytes, manifest.files);
    for (const f of files) f.localPath = safeJoin(snapshotDir, f.path);
    if (opts.out) {
      outDir = path.resolve(opts.out);
      await materialize(outDir, approved, manifestBytes, files, opts.link ?? false);
    }
  } catch (err) {
    if (isLocalIoError(err)) throw localError(err, outDir ? `writing ${outDir}` : `writing the snapshot in ${cacheDir}`);
    throw err;
  }
  const t4 = performance.now();
  const ms = (x: number) => Math.round(x);
  return {
    approved,
    manifest,
    snapshotDir,
    outDir,
    files,
    bytesDownloaded: Math.max(0, downloaded),
    timings: { chainMs: ms(t1 - t0), manifestMs: ms(t2 - t1), downloadMs: ms(t3 - t2), finishMs: ms(t4 - t3) },
  };
}
