// The kill -9 upload run (tests/artifacts/kill9.test.ts and npm run kill9:uploads). Repeats: start
// the real server (child process), upload files (one large, interrupted), kill -9 the server at a
// random moment, restart it on the same data dir. After each restart the store must hold only blobs
// whose content hashes to their name, no temp files, and uploads must work again.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { LocalArtifactStore } from '../../lib/artifacts/store.ts';
import { startServerProcess, startUploadChain, tempDir, type UploadChain } from './server-process.ts';

const MiB = 1024 * 1024;

function uploadStream(url: string, auth: string, size: number, seed: Buffer): { done: Promise<number | null>; abort(): void } {
  const req = http.request(`${url}/api/uploads`, { method: 'POST', headers: { authorization: auth, 'content-length': String(size) } });
  const done = new Promise<number | null>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
    });
    req.on('error', () => resolve(null));
  });
  let sent = 0;
  const piece = Buffer.alloc(MiB);
  const pump = () => {
    while (sent < size) {
      const n = Math.min(MiB, size - sent);
      seed.copy(piece, 0, 0, Math.min(seed.length, n));
      piece.writeUInt32LE(sent / MiB, 0);
      sent += n;
      if (!req.write(n === MiB ? piece : piece.subarray(0, n))) return void req.once('drain', pump);
    }
    req.end();
  };
  pump();
  return { done, abort: () => req.destroy() };
}

export interface Kill9Result {
  iterations: number;
  bad_blobs: number;
  leftover_temp_files: number;
  /** temp files the killed process left, removed by the restart */
  temp_files_cleaned_at_restart: number;
  /** large uploads that finished before the kill (the commit window is exercised too) */
  completed_before_kill: number;
  failed_restarts: number;
  failed_uploads_after_restart: number;
  blobs_checked: number;
}

export async function runKill9(o: { iterations: number; chain?: UploadChain; log?: (m: string) => void }): Promise<Kill9Result> {
  const log = o.log ?? console.log;
  const chain = o.chain ?? (await startUploadChain());
  const dataDir = tempDir('modeldao-kill9-');
  const storeDir = path.join(dataDir, 'store');
  const result: Kill9Result = {
    iterations: o.iterations,
    bad_blobs: 0,
    leftover_temp_files: 0,
    temp_files_cleaned_at_restart: 0,
    completed_before_kill: 0,
    failed_restarts: 0,
    failed_uploads_after_restart: 0,
    blobs_checked: 0,
  };
  try {
    for (let i = 0; i < o.iterations; i++) {
      const tmpDir = path.join(storeDir, 'tmp');
      if (fs.existsSync(tmpDir)) result.temp_files_cleaned_at_restart += fs.readdirSync(tmpDir).length;
      let server;
      try {
        server = await startServerProcess({ chain, dataDir });
      } catch (err) {
        result.failed_restarts++;
        log(`iteration ${i + 1}: restart failed: ${String(err).slice(0, 500)}`);
        continue;
      }
      // After a restart the store has cleaned up what the killed process left.
      const leftovers = fs.existsSync(path.join(storeDir, 'tmp')) ? fs.readdirSync(path.join(storeDir, 'tmp')).length : 0;
      result.leftover_temp_files += leftovers;
      const auth = await chain.auth(server.url);
      // a small upload that completes, then a large one that the kill interrupts (or not)
      const small = randomBytes(64 * 1024 + i);
      const smallRes = await fetch(`${server.url}/api/uploads`, { method: 'POST', headers: { authorization: auth }, body: small });
      const smallBody = (await smallRes.json()) as { sha256?: string };
      if (smallBody.sha256 !== createHash('sha256').update(small).digest('hex')) result.failed_uploads_after_restart++;
      // every third upload is small enough to finish around the kill, so commits get interrupted too
      const size = i % 3 === 2 ? (2 + (i % 7)) * MiB : (64 + ((i * 37) % 192)) * MiB;
      const big = uploadStream(server.url, auth, size, randomBytes(4096));
      const delay = 20 + Math.floor(Math.random() * 1500);
      await new Promise((r) => setTimeout(r, delay));
      await server.kill9();
      const status = await big.done;
      if (status !== null) result.completed_before_kill++;
      log(
        `iteration ${i + 1}: killed after ${delay} ms (large upload ${status === null ? 'interrupted' : `finished ${status}`}); temp files found at restart: ${leftovers}`,
      );
      big.abort();
    }
    // final restart, then check every blob's content against its name
    const server = await startServerProcess({ chain, dataDir });
    result.leftover_temp_files += fs.readdirSync(path.join(storeDir, 'tmp')).length;
    await server.stop();
    const store = await LocalArtifactStore.open(storeDir);
    const { checked, bad } = await store.verifyAll();
    result.blobs_checked = checked;
    result.bad_blobs = bad.length;
  } finally {
    if (!o.chain) await chain.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}
