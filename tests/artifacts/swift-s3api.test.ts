// The throwaway Swift (tests/helpers/swift.ts) is a real S3 endpoint for the AWS SDK v3: the calls
// the S3 artifact store relies on (put, get, ranged get, multipart upload, server-side copy,
// listing multipart uploads) work against it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startSwift, type TestSwift } from '../helpers/swift.ts';

let swift: TestSwift;
let s3: S3Client;
const Bucket = 'modeldao-test';

beforeAll(async () => {
  swift = await startSwift();
  s3 = swift.client();
});
afterAll(async () => {
  s3?.destroy();
  await swift?.stop();
});

async function body(key: string, range?: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key: key, Range: range }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe('Swift s3api with the AWS SDK v3', () => {
  it('puts, gets and range-gets an object', async () => {
    const bytes = randomBytes(100_000);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b', Body: bytes }));
    expect((await body('a/b')).equals(bytes)).toBe(true);
    expect((await body('a/b', 'bytes=1000-1999')).equals(bytes.subarray(1000, 2000))).toBe(true);
    expect((await body('a/b', 'bytes=-10')).equals(bytes.subarray(-10))).toBe(true);
    expect((await s3.send(new HeadObjectCommand({ Bucket, Key: 'a/b' }))).ContentLength).toBe(100_000);
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'missing' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('completes a multipart upload that nobody can read before it is completed, and copies it server-side', async () => {
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(123_457)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp' }));
    const etags: string[] = [];
    for (const [i, p] of parts.entries()) {
      etags.push((await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: i + 1, Body: p }))).ETag!);
    }
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'mp' }))).rejects.toMatchObject({ name: 'NotFound' });
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    expect(listed.Uploads?.map((u) => u.UploadId)).toContain(UploadId);
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
    const all = Buffer.concat(parts);
    expect((await body('mp')).equals(all)).toBe(true);
    const start = 5 * 1024 * 1024 - 10;
    expect((await body('mp', `bytes=${start}-${start + 19}`)).equals(all.subarray(start, start + 20))).toBe(true);
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'mp-copy', CopySource: `${Bucket}/mp` }));
    expect((await body('mp-copy')).equals(all)).toBe(true);
  });

  it('aborts a multipart upload: it is no longer listed and leaves no object', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'aborted' }));
    await s3.send(new UploadPartCommand({ Bucket, Key: 'aborted', UploadId, PartNumber: 1, Body: randomBytes(1000) }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'aborted', UploadId }));
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    expect(listed.Uploads?.map((u) => u.UploadId) ?? []).not.toContain(UploadId);
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'aborted' }))).rejects.toMatchObject({ name: 'NotFound' });
  });
});
