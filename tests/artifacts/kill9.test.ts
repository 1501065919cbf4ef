import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKill9 } from '../../scripts/kill9-uploads.ts';
import { startUploadChain, type UploadChain } from '../../scripts/artifacts/server-process.ts';

let chain: UploadChain;
beforeAll(async () => {
  chain = await startUploadChain();
}, 300_000);
afterAll(async () => {
  await chain?.stop();
});

describe('kill -9 of the server during uploads', () => {
  it('leaves no partial or misnamed blob and no temp file after a restart, and uploads work again', async () => {
    const r = await runKill9({ iterations: 3, chain, log: () => {} });
    expect(r.failed_restarts).toBe(0);
    expect(r.failed_uploads_after_restart).toBe(0);
    expect(r.leftover_temp_files).toBe(0);
    expect(r.bad_blobs).toBe(0);
    expect(r.blobs_checked).toBeGreaterThanOrEqual(3);
  }, 900_000); // four server starts; slow when the machine is busy
});
