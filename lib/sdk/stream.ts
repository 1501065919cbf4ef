import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CID } from 'multiformats/cid';
import { cacheLayout, isVerified, recordVerified, reverify } from './cache.ts';
import { ModelDaoError } from './errors.ts';
import { IpfsGatewayPool, leavesOf } from './ipfs.ts';
import { withLock } from './lock.ts';
import type { ManifestFile } from './manifest.ts';
import { GatewayHttpError, trimSlash } from './net.ts';
import { rawGet } from './rawget.ts';

// One file of a chain-approved manifest, downloaded into the cache while its bytes are handed on as
// they verify — for `modeldao hf-endpoint`, which must never send a byte the chain did not approve,
// but need not wait for a whole file before sending its first verified byte.
//
// How a byte is verified before it is readable: the manifest (sha256 = the digest on chain) lists the
// file's CID (unixfs-v1-2025: raw leaves of 1 MiB, sha2-256). Its dag-pb nodes come from the gateway's
// trustless IPFS route (/ipfs/<cid>?format=raw), each checked against the CID that names it, so the
// list of leaf digests is the approved one. The bytes come from /api/blobs in one stream (rawGet, as
// `pull` reads them); each leaf's bytes are hashed as they arrive and the verified prefix advances
// only when a whole leaf hashed to its CID. Readers see only that prefix; a leaf that does not match
// stops the download and every reader with an error (the HTTP client sees a broken body, then a
// 502), so a lying gateway costs at most one leaf of unsent bytes. The whole file's sha256 is checked
// as well before the last leaf is readable and before the blob enters the cache under its name (a
// manifest whose cid and sha256 disagree is refused then, and no reader gets a complete body).

export class VerifiedDownload {
  /** Bytes from offset 0 that verified (whole leaves); readers never see more. */
  verified = 0;
  /** Set once the download failed; readers waiting get it. */
  error: ModelDaoError | null = null;
  /** The verified blob in the cache, once complete. */
  blob: string | null = null;
  readonly done: Promise<string>;
  private readonly part: string;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(
    readonly file: ManifestFile,
    private readonly o: { gateways: string[]; cacheDir: string; headers?: (gateway: string) => Promise<Record<string, string>>; notice?: (m: string) => void },
  ) {
    const { blobs } = cacheLayout(o.cacheDir);
    this.part = path.join(blobs, `${file.sha256}.incomplete`);
    this.done = this.run().then(
      (blob) => {
        this.blob = blob;
        this.verified = file.size;
        this.wake();
        return blob;
      },
      (err: unknown) => {
        this.error =
          err instanceof ModelDaoError
            ? err
            : new ModelDaoError('network', 'all_gateways_failed', `${file.path}: ${err instanceof Error ? err.message : String(err)}`);
        this.wake();
        throw this.error;
      },
    );
    this.done.catch(() => {}); // reported to readers and to whoever awaits done
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) {
      if (this.error) x.reject(this.error);
      else x.resolve();
    }
  }

  /** Resolves once more bytes verified (at once if more than `offset` did, or the file is complete); rejects if the download fails. */
  private until(offset: number): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.verified > offset || this.blob) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async run(): Promise<string> {
    const { blobs, locks } = cacheLayout(this.o.cacheDir);
    const blob = path.join(blobs, this.file.sha256);
    fs.mkdirSync(blobs, { recursive: true });
    // The same lock as `pull`: two processes never write one partial file.
    return withLock(path.join(locks, `${this.file.sha256}.lock`), {}, async () => {
      if (isVerified(this.o.cacheDir, this.file.sha256, this.file.size) || (await reverify(this.o.cacheDir, this.file.sha256, this.file.size))) return blob;
      const failures: string[] = [];
      for (const gw of this.o.gateways.map(trimSlash)) {
        try {
          await this.fetchFrom(gw);
          fs.renameSync(this.part, blob); // synchronous: a reader opening the part file never races it
          recordVerified(this.o.cacheDir, this.file.sha256);
          return blob;
        } catch (err) {
          fs.rmSync(this.part, { force: true });
          if (err instanceof ModelDaoError && err.kind === 'integrity') throw err;
          // A gateway that already let readers have bytes cannot be swapped for another mid-file
          // without those readers starting over; they get the error and the client retries.
          if (this.verified > 0) throw err;
          failures.push(`${gw}: ${err instanceof Error ? err.message : String(err)}`);
          this.o.notice?.(`${this.file.path}: ${failures.at(-1)}`);
        }
      }
      throw new ModelDaoError(
        'network',
        'all_gateways_failed',
        `${this.file.path} (sha256 ${this.file.sha256}): no gateway delivered it\n${failures.map((f) => `  - ${f}`).join('\n')}`,
      );
    });
  }

  private async fetchFrom(gw: string): Promise<void> {
    const pool = new IpfsGatewayPool({ gateways: [gw], headers: this.o.headers });
    // Without the DAG (no CID in the manifest, or a gateway without /ipfs/) the whole file is one
    // unit: nothing is readable until its sha256 matched, as with `pull`.
    let leaves: { cid: CID | null; offset: number; size: number }[] = [{ cid: null, offset: 0, size: this.file.size }];
    if (this.file.cid) {
      try {
        leaves = await leavesOf(pool, CID.parse(this.file.cid), this.file.size);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (/hash to it|DAG|blocksizes|codec|UnixFS|inline data|covers|block limit|not sha2-256/.test(msg))
          throw new ModelDaoError('integrity', 'digest_mismatch', `refused ${this.file.path}: the DAG of ${this.file.cid} from ${gw} is not valid: ${msg}`);
        this.o.notice?.(`${this.file.path}: no CID DAG from ${gw} (${msg.split('\n')[0]}); its bytes are served once the whole file verified`);
      }
      const odd = leaves.find((l) => l.cid && l.cid.multihash.code !== 0x12);
      if (odd) throw new ModelDaoError('integrity', 'digest_mismatch', `refused ${this.file.path}: leaf ${odd.cid} of ${this.file.cid} is not sha2-256`);
    }
    const fd = fs.openSync(this.part, 'w');
    try {
      const fileHash = crypto.createHash('sha256');
      let leafIndex = 0;
      let leafHash = crypto.createHash('sha256');
      let inLeaf = 0;
      let pos = 0;
      const wrong = (what: string) =>
        new ModelDaoError('integrity', 'digest_mismatch', `gateway ${gw} served wrong bytes for ${this.file.path}: ${what} (approved on chain)`);
      const headers = { ...(await this.o.headers?.(gw)) };
      if (this.file.size > 0)
        await rawGet(new URL(`${gw}/api/blobs/${this.file.sha256}`), headers, {
          onHead: ({ status }) => {
            if (status !== 200) throw new Error(`${gw} answered ${status} for ${this.file.path}`);
          },
          onData: (chunk) => {
            if (pos + chunk.length > this.file.size) throw wrong(`more than ${this.file.size} bytes`);
            for (let off = 0; off < chunk.length;) {
              const leaf = leaves[leafIndex]!;
              const n = Math.min(chunk.length - off, leaf.size - inLeaf);
              const piece = chunk.subarray(off, off + n);
              if (leaf.cid) leafHash.update(piece);
              fileHash.update(piece);
              for (let w = 0; w < n;) w += fs.writeSync(fd, piece, w, n - w, pos + w);
              pos += n;
              off += n;
              inLeaf += n;
              if (inLeaf === leaf.size && leaf.cid) {
                if (!leafHash.digest().equals(Buffer.from(leaf.cid.multihash.digest)))
                  throw wrong(`bytes ${leaf.offset}-${leaf.offset + leaf.size - 1} do not hash to leaf ${leaf.cid} of ${this.file.cid}`);
                leafHash = crypto.createHash('sha256');
                inLeaf = 0;
                leafIndex++;
                // The last leaf waits for the whole file's sha256 (below): no body completes unless
                // the file is the manifest's by both its CID and its sha256.
                if (pos < this.file.size) {
                  this.verified = pos;
                  this.wake();
                }
              }
            }
          },
        });
      if (pos !== this.file.size) throw new Error(`${gw} ended ${this.file.path} after ${pos} of ${this.file.size} bytes`);
      const got = fileHash.digest('hex');
      if (got !== this.file.sha256) throw wrong(`sha256 ${got}, expected ${this.file.sha256}`);
      if (process.env.MODELDAO_FSYNC === '1') fs.fsyncSync(fd);
    } catch (err) {
      if (err instanceof GatewayHttpError && (err.status === 401 || err.status === 403))
        throw new ModelDaoError('access', 'access_denied', `access refused by ${gw}: ${err.message}`);
      throw err;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Resolves once the verified bytes pass `pos` (or the file is complete), with their end (exclusive):
   * a reader reads no further than that. Rejects if the download fails.
   */
  async readableEnd(pos: number): Promise<number> {
    for (;;) {
      await this.until(pos); // wakes at each verified leaf, wherever it ends
      const end = this.blob ? this.file.size : this.verified;
      if (end > pos) return end;
    }
  }

  /**
   * The file opened for reading: the part file until the blob is renamed into place. Call it once
   * readableEnd() resolved (the part file exists by then). The open runs in the thread pool and may
   * come just after the rename: then the blob is the same file under its final name.
   */
  async open(): Promise<fs.promises.FileHandle> {
    const blob = path.join(path.dirname(this.part), this.file.sha256);
    return fs.promises.open(this.blob ?? this.part, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return fs.promises.open(blob, 'r');
      throw err;
    });
  }
}
