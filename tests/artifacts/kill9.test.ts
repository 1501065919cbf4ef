import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKill9 } from '../helpers/kill9.ts';
import { startUploadChain, type UploadChain } from '../helpers/server-process.ts';

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

describe('kill -9 of the server during a resumable upload', () => {
  it('keeps the bytes that reached the disk; after a restart HEAD gives the offset and the upload finishes', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const fs = await import('node:fs');
    const http = await import('node:http');
    const os = await import('node:os');
    const path = await import('node:path');
    const { startServerProcess } = await import('../helpers/server-process.ts');
    const MiB = 1024 * 1024;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-kill9-session-'));
    const bytes = randomBytes(24 * MiB);
    let server = await startServerProcess({ chain, dataDir });
    try {
      const created = await fetch(`${server.url}/api/uploads/sessions`, {
        method: 'POST',
        headers: { authorization: await chain.auth(server.url), 'upload-length': String(bytes.length) },
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const url = (base: string) => `${base}/api/uploads/sessions/${id}`;

      // 10 MiB of the body reach the server, then it is killed mid-PATCH
      const authorization = await chain.auth(server.url);
      const req = http.request(url(server.url), { method: 'PATCH', headers: { authorization, 'upload-offset': '0', 'content-length': String(bytes.length) } });
      req.on('error', () => {});
      await new Promise<void>((r) => req.write(bytes.subarray(0, 10 * MiB), () => r()));
      // kill mid-PATCH once the server has written 8 MiB to the session's file (it appends in 4 MiB
      // batches; the last 2 MiB are still in its buffer), however slow the machine. Not a HEAD: that
      // would end the PATCH.
      const partSize = () => {
        const part = fs.readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith(`${id}.part`));
        return part ? fs.statSync(path.join(dataDir, part)).size : 0;
      };
      for (const end = Date.now() + 120_000; partSize() < 8 * MiB;) {
        if (Date.now() > end) throw new Error(`the server never wrote 8 MiB of the session (${partSize()} bytes)`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await server.kill9();
      req.destroy();

      server = await startServerProcess({ chain, dataDir });
      const head = await fetch(url(server.url), { method: 'HEAD', headers: { authorization: await chain.auth(server.url) } });
      expect(head.status).toBe(200);
      const offset = Number(head.headers.get('upload-offset'));
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThanOrEqual(10 * MiB);

      const rest = await fetch(url(server.url), {
        method: 'PATCH',
        headers: { authorization: await chain.auth(server.url), 'upload-offset': String(offset) },
        body: bytes.subarray(offset) as unknown as BodyInit,
      });
      expect(rest.status).toBe(201);
      expect(((await rest.json()) as { sha256: string }).sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    } finally {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
