import { randomUUID, createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { SLOT_BYTES, StreamingHasher, type ContentHashes, type Slot } from './hash.ts';
import { SHA256_HEX, StoreError, type ArtifactStore, type BlobStat, type ByteRange, type PutOptions, type PutResult } from './store.ts';

/**
 * Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Swift s3api, R2), path-style by default:
 *   `<prefix>blobs/<aa>/<sha256>`      the bytes, only ever complete and under their own sha256
 *   `<prefix>meta/<aa>/<sha256>.cid`   the CIDv1, written before the blob appears
 *   `<prefix>tmp/<ms>-<uuid>`          uploads whose sha256 was not announced, until copied into place
 *
 * Write path, streaming (hashes in workers as in the local store, the same slot memory is sent as
 * the part bodies, so no extra copy):
 * - up to one part (8 MiB) the bytes stay in memory and are PUT under their final key once the
 *   sha256 checked out (a single PUT is atomic);
 * - larger, with an announced sha256 (x-expected-sha256, manifests, sessions): a multipart upload to
 *   the final key, completed only after the sha256 matched and `beforeCommit` passed, aborted
 *   otherwise; an S3 multipart upload is invisible to readers until completed;
 * - larger, without one: a multipart upload to a temp key, then a server-side copy to the final key
 *   and the temp key deleted.
 * Conditional writes (If-None-Match) are not used: Swift's s3api answers 501. Identical bytes map
 * to the same key, and a put that finds the key present (checked before and again right before
 * completing) stores nothing. A crash leaves at most an incomplete multipart upload or a temp key:
 * `sweep` (run by `open`) aborts/deletes those older than `orphanAgeMs`.
 */
export interface S3StoreOptions {
  bucket: string;
  /** Key prefix ('' or ending in '/'). */
  prefix?: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (http://host/bucket/key), default true: what non-AWS endpoints expect. */
  forcePathStyle?: boolean;
  /** Incomplete multipart uploads and temp keys older than this are removed by open()'s sweep (default 24 h). */
  orphanAgeMs?: number;
  /** Largest single server-side copy; bigger objects are copied in parts of this size (default 4 GiB, S3's limit is 5). */
  copyPartBytes?: number;
  /** Don't sweep on open (tests that look at the leftovers first). */
  skipSweep?: boolean;
}

/** Slots (4 MiB) per multipart part: 8 MiB parts (S3's minimum is 5 MiB), 10,000 parts ≈ 78 GiB. */
const SLOTS_PER_PART = 2;
const PART_BYTES = SLOTS_PER_PART * SLOT_BYTES;
/** Parts being sent at once; each holds its slots, and the ring has 8. */
const PARTS_IN_FLIGHT = 2;
const MAX_PARTS = 10_000;

export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly copyPartBytes: number;
  /** sha256 → CID: content-derived, so never stale. */
  private readonly cids = new Map<string, string>();

  private constructor(readonly options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    if (this.prefix && !this.prefix.endsWith('/')) this.prefix += '/';
    this.copyPartBytes = options.copyPartBytes ?? 4 * 1024 ** 3;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: options.accessKeyId && options.secretAccessKey ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } : undefined,
      // the SDK's default CRC32 checksums (x-amz-checksum-*, aws-chunked bodies) are not understood
      // by several S3 implementations (Swift s3api among them), and our sha256 covers integrity
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Checks the bucket is reachable, then sweeps orphans older than `orphanAgeMs`. */
  static async open(options: S3StoreOptions): Promise<S3ArtifactStore> {
    const store = new S3ArtifactStore(options);
    try {
      await store.client.send(new HeadBucketCommand({ Bucket: store.bucket }));
    } catch (err) {
      store.close();
      throw new Error(`S3 bucket ${store.bucket} at ${options.endpoint ?? 'AWS'} is not reachable: ${describe(err)}`);
    }
    if (!options.skipSweep) await store.sweep(options.orphanAgeMs ?? 24 * 3600_000);
    return store;
  }

  close(): void {
    this.client.destroy();
  }

  blobKey(sha256: string): string {
    return `${this.prefix}blobs/${sha256.slice(0, 2)}/${sha256}`;
  }

  private cidKey(sha256: string): string {
    return `${this.prefix}meta/${sha256.slice(0, 2)}/${sha256}.cid`;
  }

  get tmpPrefix(): string {
    return `${this.prefix}tmp/`;
  }

  /**
   * Aborts multipart uploads under the prefix and deletes temp keys older than `olderThanMs` (an
   * upload in progress on another server is younger than that). Returns what was removed.
   */
  async sweep(olderThanMs: number): Promise<{ multipartUploads: number; tempKeys: number }> {
    // S3 times have whole seconds (Swift rounds Last-Modified up): one second of slack
    const cutoff = Date.now() - olderThanMs + 1000;
    let multipartUploads = 0;
    let tempKeys = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (u.Initiated && u.Initiated.getTime() > cutoff)) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId })).catch(ignoreNotFound);
        multipartUploads++;
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    for await (const o of this.listObjects(this.tmpPrefix)) {
      if (o.LastModified && o.LastModified.getTime() > cutoff) continue;
      await this.deleteKey(o.Key!);
      tempKeys++;
    }
    return { multipartUploads, tempKeys };
  }

  /** Temp keys and incomplete multipart uploads under the prefix right now (tests: nothing left over). */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.listObjects(this.tmpPrefix)) out.push(o.Key!);
    const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix || undefined }));
    for (const u of page.Uploads ?? []) out.push(`multipart:${u.Key}`);
    return out;
  }

  /** Every key under `prefix` (a prefix inside this store's). */
  async *keysUnder(prefix: string): AsyncIterable<string> {
    for await (const o of this.listObjects(prefix)) yield o.Key!;
  }

  private async *listObjects(prefix: string) {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) yield o;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(ignoreNotFound);
  }

  private async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  private async head(key: string) {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async put(source: AsyncIterable<Uint8Array> | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const expected = opts.expectedSha256?.toLowerCase();
    if (expected !== undefined && !SHA256_HEX.test(expected)) {
      throw new StoreError('invalid_digest', 'expected sha256 must be 64 hex characters');
    }
    const maxBytes = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    // Announced bytes already stored: hash them (the answer and the checks need the hashes) and send nothing.
    const present = expected !== undefined && (await this.exists(this.blobKey(expected)));
    const target = expected !== undefined ? this.blobKey(expected) : `${this.tmpPrefix}${Date.now()}-${randomUUID()}`;
    const hasher = new StreamingHasher();
    let upload: { id: string; parts: { ETag: string; PartNumber: number }[] } | null = null;
    let uploadStarting: Promise<void> | null = null;
    const inFlight = new Set<Promise<void>>();
    let sendError: unknown = null;
    /** submitted slots not yet sent (or kept for a single PUT) */
    let held: { slot: Slot; length: number }[] = [];
    let heldBytes = 0;
    let slot: Slot | null = null;
    let fill = 0;
    let total = 0;
    let tempWritten = false;

    const release = (slots: { slot: Slot }[]) => {
      for (const s of slots) hasher.writerDone(s.slot);
    };
    const sendPart = (slots: { slot: Slot; length: number }[]) => {
      const partNumber = nextPart++;
      if (partNumber > MAX_PARTS) throw new StoreError('too_large', `upload exceeds ${MAX_PARTS} parts of ${PART_BYTES} bytes`);
      const length = slots.reduce((n, s) => n + s.length, 0);
      const p: Promise<void> = (async () => {
        if (!upload) {
          uploadStarting ??= this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: target })).then((r) => {
            upload = { id: r.UploadId!, parts: [] };
            if (target.startsWith(this.tmpPrefix)) tempWritten = true;
          });
          await uploadStarting;
        }
        const u = upload!;
        const r = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: target,
            UploadId: u.id,
            PartNumber: partNumber,
            ContentLength: length,
            // a stream body is sent as UNSIGNED-PAYLOAD: no third sha256 pass over the bytes here
            Body: Readable.from(slots.map((s) => s.slot.bytes.subarray(0, s.length))),
          }),
        );
        u.parts.push({ ETag: r.ETag!, PartNumber: partNumber });
      })()
        .catch((err) => {
          sendError ??= err;
        })
        .finally(() => {
          inFlight.delete(p);
          release(slots);
        });
      inFlight.add(p);
    };
    let nextPart = 1;

    const flush = () => {
      if (!slot || fill === 0) return;
      hasher.submit(slot, fill, !present);
      if (!present) {
        held.push({ slot, length: fill });
        heldBytes += fill;
      }
      slot = null;
      fill = 0;
      if (heldBytes >= PART_BYTES) {
        const slots = held;
        held = [];
        heldBytes = 0;
        sendPart(slots);
      }
    };

    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        total += chunk.byteLength;
        if (total > maxBytes) throw new StoreError('too_large', `upload exceeds the limit of ${maxBytes} bytes`);
        if (sendError) throw sendError;
        opts.tap?.(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          if (!slot) {
            // backpressure: no more than PARTS_IN_FLIGHT parts on the wire
            while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
            slot = await hasher.acquire();
          }
          const n = Math.min(chunk.byteLength - off, SLOT_BYTES - fill);
          if (Buffer.isBuffer(chunk)) chunk.copy(slot.bytes, fill, off, off + n);
          else slot.bytes.set(chunk.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === SLOT_BYTES) flush();
        }
      }
      flush();
      const multipart = upload !== null || inFlight.size > 0;
      if (multipart && held.length > 0) {
        const slots = held;
        held = [];
        heldBytes = 0;
        sendPart(slots);
      }
      while (inFlight.size > 0) await Promise.all(inFlight);
      if (sendError) throw sendError;
      const hashes = await hasher.digest();
      if (expected !== undefined && hashes.sha256 !== expected) {
        throw new StoreError('hash_mismatch', `content sha256 is ${hashes.sha256}, expected ${expected}`);
      }
      await opts.beforeCommit?.(hashes);
      const final = this.blobKey(hashes.sha256);
      let created = false;
      if (present || (await this.exists(final))) {
        // stored already (before, or meanwhile by a concurrent upload of the same bytes)
      } else {
        await this.putCid(hashes);
        if (!multipart) {
          const body = Buffer.concat(held.map((h) => h.slot.bytes.subarray(0, h.length)));
          await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: final, Body: body, ContentLength: body.byteLength }));
        } else if (target === final) {
          await this.complete(target, upload!);
          upload = null;
        } else {
          await this.complete(target, upload!);
          upload = null;
          await this.copy(target, final, hashes.size);
        }
        created = true;
      }
      this.cids.set(hashes.sha256, hashes.cid);
      return { ...hashes, created };
    } catch (err) {
      hasher.abort();
      throw err;
    } finally {
      // (a slot acquired but never submitted needs nothing: the aborted hasher recycles its ring)
      if (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      if (uploadStarting) await (uploadStarting as Promise<void>).catch(() => {});
      release(held);
      held = [];
      // not completed (failure, or completed-then-copied temp uploads set it to null)
      const open = upload as { id: string } | null;
      if (open) await this.abortUpload(target, open.id);
      if (tempWritten) await this.deleteKey(target).catch(() => {});
    }
  }

  private async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => {});
  }

  private async complete(key: string, upload: { id: string; parts: { ETag: string; PartNumber: number }[] }): Promise<void> {
    const parts = [...upload.parts].sort((a, b) => a.PartNumber - b.PartNumber);
    await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: upload.id, MultipartUpload: { Parts: parts } }));
  }

  /** Server-side copy; one request up to copyPartBytes, a multipart copy above. */
  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= this.copyPartBytes) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let start = 0, n = 1; start < size; start += this.copyPartBytes, n++) {
        const end = Math.min(size, start + this.copyPartBytes) - 1;
        const r = await this.client.send(
          new UploadPartCopyCommand({ Bucket: this.bucket, Key: to, UploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${start}-${end}` }),
        );
        parts.push({ ETag: r.CopyPartResult!.ETag!, PartNumber: n });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.abortUpload(to, UploadId!);
      throw err;
    }
  }

  private async putCid(hashes: ContentHashes): Promise<void> {
    const body = Buffer.from(hashes.cid);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.cidKey(hashes.sha256), Body: body, ContentType: 'text/plain' }));
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    return this.exists(this.blobKey(sha256));
  }

  async stat(sha256: string): Promise<BlobStat | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const h = await this.head(this.blobKey(sha256));
    if (!h) return null;
    let cid = this.cids.get(sha256) ?? null;
    if (cid === null) {
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.cidKey(sha256) }));
        cid = (await r.Body!.transformToString()).trim() || null;
        if (cid) this.cids.set(sha256, cid);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return { sha256, size: Number(h.ContentLength ?? 0), cid };
  }

  async blobMtime(sha256: string): Promise<Date | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    return (await this.head(this.blobKey(sha256)))?.LastModified ?? null;
  }

  createReadStream(sha256: string, range?: ByteRange): Readable {
    if (!SHA256_HEX.test(sha256)) throw new StoreError('invalid_digest', 'not a sha256 digest');
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    const abort = new AbortController();
    out.once('close', () => abort.abort());
    this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256), Range: range ? `bytes=${range.start}-${range.end}` : undefined }), {
        abortSignal: abort.signal,
      })
      .then((r) => {
        const body = r.Body as Readable;
        if (out.destroyed) {
          body.destroy();
          return;
        }
        body.on('error', (err) => out.destroy(err));
        out.once('close', () => body.destroy());
        body.pipe(out);
      })
      .catch((err) => {
        if (!out.destroyed) out.destroy(isNotFound(err) ? Object.assign(new Error(`no blob ${sha256}`), { code: 'ENOENT' }) : err);
      });
    return out;
  }

  async delete(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    const had = await this.exists(this.blobKey(sha256));
    await this.deleteKey(this.blobKey(sha256));
    await this.deleteKey(this.cidKey(sha256));
    this.cids.delete(sha256);
    return had;
  }

  async *list(): AsyncIterable<string> {
    for await (const o of this.listObjects(`${this.prefix}blobs/`)) {
      const name = o.Key!.slice(o.Key!.lastIndexOf('/') + 1);
      if (SHA256_HEX.test(name)) yield name;
    }
  }

  /** Re-hashes every blob; returns the names whose content does not match (should always be empty). */
  async verifyAll(): Promise<{ checked: number; bad: string[] }> {
    const bad: string[] = [];
    let checked = 0;
    for await (const name of this.list()) {
      checked++;
      const h = createHash('sha256');
      for await (const c of this.createReadStream(name)) h.update(c as Buffer);
      if (h.digest('hex') !== name) bad.push(name);
    }
    return { checked, bad };
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return [e?.name, e?.$metadata?.httpStatusCode, e?.message].filter(Boolean).join(' ');
}
