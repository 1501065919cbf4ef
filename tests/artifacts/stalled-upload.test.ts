// Issue #18 (security): stalled and piled-up uploads cannot hold the server. The real server
// (lib/server/main.ts, plain routes, PGlite) on a real anvil, with small timeouts.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { signUploadAuthorization } from '../../lib/artifacts/upload-auth-format.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import { advanceTime, DEV_ACCOUNTS, freePort, startTestChain, type TestChain } from '../helpers/anvil.ts';

const KiB = 1024;
const IDLE_SECONDS = 1;
const HEADERS_SECONDS = 1;
const QUOTA = 2048 * KiB;

let chain: TestChain;
let server: RunningServer;
let dataDir: string;
let auth: string;
const open: http.ClientRequest[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  await new Governance(chain.rpcUrl, chain.deployment).delegate(DEV_ACCOUNTS[0].privateKey);
  await advanceTime(chain.rpcUrl, 1);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-stall-'));
  const env = parseEnv({
    ANVIL_PORT: String(chain.port),
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    REQUEST_BODY_IDLE_SECONDS: String(IDLE_SECONDS),
    REQUEST_HEADERS_TIMEOUT_SECONDS: String(HEADERS_SECONDS),
    UPLOAD_QUOTA_BYTES: String(QUOTA),
    UPLOAD_MAX_CONCURRENT_PER_ACCOUNT: '2',
  });
  server = await startServer({ env, withNext: false, log: () => {} });
  auth = await signUploadAuthorization(privateKeyToAccount(DEV_ACCOUNTS[0].privateKey), {
    account: DEV_ACCOUNTS[0].address,
    chainId: chain.deployment.chainId,
    registry: chain.deployment.contracts.ModelRegistry,
    audience: server.url,
  });
}, 180_000);

afterAll(async () => {
  for (const r of open) r.destroy();
  await server?.close();
  await chain?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const tmpFiles = () => fs.readdirSync(path.join(dataDir, 'store', 'tmp'));

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Partial {
  req: http.ClientRequest;
  closed: Promise<{ at: number; status?: number; body?: string }>;
  sent: number;
  /** when the last byte written so far left this process */
  lastWriteAt: number;
  length: number;
  /** the byte this upload's body is made of: each partial upload its own, so two never carry the
   *  same bytes (the second would be answered 200 "already stored", not 201) */
  fill: number;
}

let nextFill = 16;

/** Starts an upload declaring `length` bytes and sends `first` of them. */
function partialUpload(length: number, first: number): Partial {
  const req = http.request(`${server.url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: auth, 'content-length': String(length), 'content-type': 'application/octet-stream' },
  });
  open.push(req);
  const closed = new Promise<{ at: number; status?: number; body?: string }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ at: Date.now(), status: res.statusCode, body }));
      res.on('error', () => resolve({ at: Date.now(), status: res.statusCode, body }));
    });
    req.on('error', () => resolve({ at: Date.now() }));
    req.on('close', () => setTimeout(() => resolve({ at: Date.now() }), 50));
  });
  const u: Partial = { req, closed, sent: 0, lastWriteAt: Date.now(), length, fill: nextFill++ };
  write(u, first);
  return u;
}

function write(u: Partial, n: number) {
  u.sent += n;
  u.req.write(Buffer.alloc(n, u.fill), (err) => {
    if (!err) u.lastWriteAt = Date.now();
  });
}

/** Keeps uploads alive with 100 bytes every 150 ms (well inside the idle timeout) until stopped. */
function trickle(uploads: Partial[]) {
  const live = new Set(uploads);
  const timer = setInterval(() => {
    for (const u of live) write(u, 100);
  }, 150);
  return {
    /** stops feeding `u` (it stalls) */
    stall: (u: Partial) => live.delete(u),
    /** sends the rest of `u`'s body */
    finish: (u: Partial) => {
      live.delete(u);
      u.req.end(Buffer.alloc(u.length - u.sent, u.fill));
    },
    stop: () => clearInterval(timer),
  };
}

async function post(bytes: Buffer) {
  const res = await fetch(`${server.url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; sha256?: string } };
}

describe('stalled uploads', () => {
  it('a body that stops arriving is cut after the idle timeout; its temp file goes and its quota reservation is released', async () => {
    const declared = 1800 * KiB;
    const stalled = partialUpload(declared, 64 * KiB);
    const feed = trickle([stalled]);
    try {
      await until(() => tmpFiles().length > 0, 'the upload to start writing its temp file');
      // while it streams, its declared length is reserved: the rest of the quota + 1 KiB does not fit
      const refused = await post(Buffer.alloc(QUOTA - declared + KiB, 2));
      expect(refused.status).toBe(413);
      feed.stall(stalled);
    } finally {
      feed.stop();
    }
    const end = await stalled.closed;
    const after = end.at - stalled.lastWriteAt;
    expect(end.status).toBeUndefined(); // cut, not answered
    expect(after).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 100);
    expect(after).toBeLessThan(IDLE_SECONDS * 1000 + 5_000);
    await until(() => tmpFiles().length === 0, 'the temp file to be removed');
    // the reservation goes (a row in upload_claim, released right after the temp file): an upload as
    // large as the stalled one's declared length fits then; a refusal meanwhile stores nothing
    let status = 0;
    await until(async () => (status = (await post(Buffer.alloc(declared, 3))).status) !== 413, 'the reservation to be released');
    expect(status).toBe(201);
  });

  it('a resumable session PATCH that stalls is cut after the same idle timeout and keeps the bytes that arrived', async () => {
    const created = await fetch(`${server.url}/api/uploads/sessions`, { method: 'POST', headers: { authorization: auth, 'upload-length': String(128 * KiB) } });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const req = http.request(`${server.url}${location}`, {
      method: 'PATCH',
      headers: { authorization: auth, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(128 * KiB) },
    });
    open.push(req);
    const closed = new Promise<void>((resolve) => {
      req.on('error', () => resolve());
      req.on('close', () => resolve());
    });
    let flushedAt = 0;
    req.write(Buffer.alloc(32 * KiB, 8), (err) => {
      if (!err) flushedAt = Date.now();
    });
    await closed;
    expect(Date.now() - flushedAt).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 100);
    let offset = '';
    await until(async () => {
      const head = await fetch(`${server.url}${location}`, { method: 'HEAD', headers: { authorization: auth } });
      offset = head.headers.get('upload-offset') ?? '';
      return offset === String(32 * KiB);
    }, 'the session to report the bytes that arrived');
    expect(offset).toBe(String(32 * KiB));
    await fetch(`${server.url}${location}`, { method: 'DELETE', headers: { authorization: auth } });
  });

  it('headers that never finish are cut after the headers timeout', async () => {
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const sentAt = Date.now();
    socket.write('POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    let answer = '';
    socket.on('data', (d) => (answer += d));
    await new Promise((r) => socket.once('close', r));
    const after = Date.now() - sentAt;
    expect(after).toBeGreaterThanOrEqual(HEADERS_SECONDS * 1000 - 100);
    expect(after).toBeLessThan(HEADERS_SECONDS * 1000 + 5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('concurrent uploads per account', () => {
  it('the N+1th concurrent upload of one account gets 429 with a JSON error; a slot frees when an upload ends', async () => {
    // two uploads kept alive by trickling bytes (never idle long enough to be cut)
    const a = partialUpload(64 * KiB, KiB);
    const b = partialUpload(64 * KiB, KiB);
    const feed = trickle([a, b]);
    const finish = feed.finish;
    await until(() => tmpFiles().length === 2, 'both uploads to be streaming');
    const third = await post(Buffer.alloc(KiB, 4));
    expect(third.status).toBe(429);
    expect(third.body.error?.code).toBe('too_many_uploads');
    // a finishes: its slot is free again
    finish(a);
    expect((await a.closed).status).toBe(201);
    const fourth = await post(Buffer.alloc(KiB, 6));
    expect(fourth.status).toBe(201);
    finish(b);
    feed.stop();
    expect((await b.closed).status).toBe(201);
  });
});
