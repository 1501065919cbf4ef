import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { uploadAuthHeaders, uploadFile } from '../../lib/sdk/upload.ts';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSafetensors } from '../../lib/artifacts/safetensors.ts';
import { getBlob } from '../../lib/artifacts/catalog.ts';
import { sweepSessions } from '../../lib/artifacts/sessions.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import { advanceTime, DEV_ACCOUNTS } from '../helpers/anvil.ts';
import { startHarness, upload, type Harness } from './harness.ts';

// Resumable uploads: POST /api/uploads/sessions, PATCH at an offset, HEAD after a cut-off.

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ UPLOAD_MAX_BYTES: 64 * MiB, UPLOAD_QUOTA_BYTES: 150 * MiB });
  // a second account that may upload too, to show sessions are private
  await new Governance(h.chain.rpcUrl, h.chain.deployment).delegate(DEV_ACCOUNTS[1].privateKey);
  await advanceTime(h.chain.rpcUrl, 2);
});
afterAll(async () => {
  await h?.close();
});

const sessionFiles = () => fs.readdirSync(h.store.sessionDir);

async function open(length: number, headers: Record<string, string> = {}, account = 0) {
  const res = await fetch(`${h.url}/api/uploads/sessions`, {
    method: 'POST',
    headers: { authorization: await h.auth(account), 'upload-length': String(length), ...headers },
  });
  return { status: res.status, location: res.headers.get('location'), body: (await res.json()) as any };
}

async function patch(id: string, offset: number, bytes: Uint8Array, account = 0) {
  const res = await fetch(`${h.url}/api/uploads/sessions/${id}`, {
    method: 'PATCH',
    headers: { authorization: await h.auth(account), 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
    body: bytes as unknown as BodyInit,
  });
  const text = await res.text();
  return { status: res.status, offset: res.headers.get('upload-offset'), body: text ? (JSON.parse(text) as any) : null };
}

async function head(id: string, account = 0) {
  const res = await fetch(`${h.url}/api/uploads/sessions/${id}`, { method: 'HEAD', headers: { authorization: await h.auth(account) } });
  return { status: res.status, offset: res.headers.get('upload-offset'), length: res.headers.get('upload-length') };
}

/** Writes `bytes` on a request, then waits until the server has read everything the client sent on that connection. */
async function writeAndArrive(req: http.ClientRequest, bytes: Uint8Array, ms = 30_000) {
  await new Promise<void>((r) => req.write(bytes, () => r()));
  const socket = req.socket!;
  const end = Date.now() + ms;
  while (h.bytesReadFrom(socket.localPort!) < socket.bytesWritten) {
    if (Date.now() > end) throw new Error(`the server read ${h.bytesReadFrom(socket.localPort!)} of ${socket.bytesWritten} bytes`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends `bytes` of a PATCH that declares `declared`, waits until the server has read them, then cuts the connection. */
async function cutOff(id: string, offset: number, bytes: Uint8Array, declared: number) {
  const authorization = await h.auth();
  const req = http.request(`${h.url}/api/uploads/sessions/${id}`, {
    method: 'PATCH',
    headers: { authorization, 'upload-offset': String(offset), 'content-length': String(declared) },
  });
  req.on('error', () => {});
  await writeAndArrive(req, bytes);
  req.destroy();
}

async function waitForOffset(id: string, want: (n: number) => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await head(id);
    if (s.status === 200 && want(Number(s.offset))) return Number(s.offset);
    if (Date.now() > end) throw new Error(`offset never settled (last: ${s.status} ${s.offset})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('resumable uploads', () => {
  it('assembles a file from parts, one cut off mid-body, into the same blob a single upload gives', async () => {
    const bytes = randomBytes(13 * MiB + 4321);
    const s = await open(bytes.length, { 'x-expected-sha256': sha(bytes), 'x-file-name': 'weights.bin' });
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ offset: 0, length: bytes.length });
    expect(s.location).toBe(`/api/uploads/sessions/${s.body.id}`);
    const id = s.body.id as string;

    const first = await patch(id, 0, bytes.subarray(0, 5 * MiB));
    expect(first.status).toBe(204);
    expect(first.offset).toBe(String(5 * MiB));

    // A wrong offset is refused with the right one; nothing is written.
    const wrong = await patch(id, 4 * MiB, bytes.subarray(4 * MiB, 5 * MiB));
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe('offset_mismatch');
    expect(wrong.offset).toBe(String(5 * MiB));

    // The connection drops after 3 MiB of a 6 MiB PATCH: what arrived is kept, HEAD says where to go on.
    await cutOff(id, 5 * MiB, bytes.subarray(5 * MiB, 8 * MiB), 6 * MiB);
    const resumeAt = await waitForOffset(id, (n) => n > 5 * MiB);
    expect(resumeAt).toBeLessThanOrEqual(8 * MiB);
    const st = await head(id);
    expect(st.length).toBe(String(bytes.length));

    const last = await patch(id, resumeAt, bytes.subarray(resumeAt));
    expect(last.status).toBe(201);
    expect(last.body).toMatchObject({ size: bytes.length, sha256: sha(bytes) });

    // identical to the one-request upload of the same bytes (which finds them already stored)
    const single = await upload(h, bytes);
    expect(single.status).toBe(200);
    expect(single.body).toEqual(last.body);
    expect(fs.readFileSync(h.store.blobPath(sha(bytes))).equals(bytes)).toBe(true);
    expect((await getBlob(h.database.db, sha(bytes)))?.size).toBe(bytes.length);
    // The file became the blob (renamed, not copied). The finished session still answers, so a
    // client whose last response was lost learns the result: HEAD says complete, and an empty PATCH
    // at the end gets the same answer again.
    expect(sessionFiles()).toEqual([]);
    const done = await head(id);
    expect(done).toMatchObject({ status: 200, offset: String(bytes.length) });
    const again = await patch(id, bytes.length, new Uint8Array(0));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(last.body);
    expect((await patch(id, bytes.length, randomBytes(1))).status).toBe(413);
    // ...and no longer counts against the quota (the blob does, once)
    const { openSessionBytes } = await import('../../lib/artifacts/sessions.ts');
    expect(await openSessionBytes(h.database.db, DEV_ACCOUNTS[0].address)).toBe(0);
  });

  it('a stalled PATCH (half-open connection) does not lock the session: HEAD ends it and the upload goes on', async () => {
    const bytes = randomBytes(6 * MiB);
    const s = await open(bytes.length);
    const id = s.body.id as string;
    const authorization = await h.auth();
    const stalled = http.request(`${h.url}/api/uploads/sessions/${id}`, {
      method: 'PATCH',
      headers: { authorization, 'upload-offset': '0', 'content-length': String(bytes.length) },
    });
    const closed = new Promise<void>((r) => stalled.on('error', () => r()).on('close', () => r()));
    await writeAndArrive(stalled, bytes.subarray(0, 2 * MiB)); // the server has them all; then nothing more, connection left open
    const probe = await head(id);
    expect(probe.status).toBe(200);
    expect(Number(probe.offset)).toBe(2 * MiB); // every byte that arrived, flushed before the answer
    await closed; // the server cut the stalled request off
    const rest = await patch(id, 2 * MiB, bytes.subarray(2 * MiB));
    expect(rest.status).toBe(201);
    expect(rest.body.sha256).toBe(sha(bytes));
  });

  it('keeps sessions private, refuses bytes past the length, and needs an authorization', async () => {
    const s = await open(2 * MiB);
    const id = s.body.id as string;
    expect((await head(id, 1)).status).toBe(404); // another account: same answer as an unknown id
    expect((await patch(id, 0, randomBytes(10), 1)).status).toBe(404);
    const anon = await fetch(`${h.url}/api/uploads/sessions/${id}`, { method: 'HEAD' });
    expect(anon.status).toBe(401);

    const over = await patch(id, 0, randomBytes(2 * MiB + 1));
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('beyond_upload_length');
    expect((await head(id)).offset).toBe('0');

    const del = await fetch(`${h.url}/api/uploads/sessions/${id}`, { method: 'DELETE', headers: { authorization: await h.auth() } });
    expect(del.status).toBe(204);
    expect((await head(id)).status).toBe(404);
    expect(sessionFiles()).toEqual([]);
  });

  it('checks the declared sha256 and safetensors headers when the last byte arrives, and keeps nothing that fails', async () => {
    const bytes = randomBytes(3 * MiB);
    const s = await open(bytes.length, { 'x-expected-sha256': sha(randomBytes(8)) });
    const r = await patch(s.body.id, 0, bytes);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('hash_mismatch');
    expect(await h.store.has(sha(bytes))).toBe(false);
    expect((await head(s.body.id)).status).toBe(404);

    const good = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [4, 4] }]);
    const bad = Buffer.from(good);
    bad.writeUInt32LE(bad.readUInt32LE(0) + 1, 0); // header length one byte off
    const t = await open(bad.length, { 'x-file-name': 'model.safetensors' });
    const tr = await patch(t.body.id, 0, bad);
    expect(tr.status).toBe(422);
    expect(tr.body.error.code).toBe('invalid_safetensors');
    expect(await h.store.has(sha(bad))).toBe(false);

    const u = await open(good.length, { 'x-file-name': 'model.safetensors' });
    const ur = await patch(u.body.id, 0, good);
    expect(ur.status).toBe(201);
    expect(ur.body.safetensors.parameters.total).toBe(16);
    expect(sessionFiles()).toEqual([]);
  });

  it('counts open sessions against the quota and refuses oversize or malformed requests', async () => {
    expect((await open(65 * MiB)).status).toBe(413); // over UPLOAD_MAX_BYTES
    const big = await open(60 * MiB);
    const big2 = await open(60 * MiB);
    expect(big.status).toBe(201);
    expect(big2.status).toBe(201);
    const third = await open(60 * MiB);
    expect(third.status).toBe(413);
    expect(third.body.error.code).toBe('quota_exceeded');
    for (const id of [big.body.id, big2.body.id]) {
      await fetch(`${h.url}/api/uploads/sessions/${id}`, { method: 'DELETE', headers: { authorization: await h.auth() } });
    }
    expect((await open(60 * MiB)).status).toBe(201);

    const noLength = await fetch(`${h.url}/api/uploads/sessions`, { method: 'POST', headers: { authorization: await h.auth() } });
    expect(noLength.status).toBe(400);
    expect(((await noLength.json()) as any).error.code).toBe('upload_length_required');
    expect((await open(-1 as unknown as number)).status).toBe(400);
  });

  it('parallel uploads cannot pass the quota together', async () => {
    const { unpinnedBytes } = await import('../../lib/artifacts/catalog.ts');
    const { openSessionBytes } = await import('../../lib/artifacts/sessions.ts');
    const who = DEV_ACCOUNTS[1].address;
    // an open session takes the room down to 100 MiB: two 60 MiB uploads each fit, both do not
    const free = 150 * MiB - (await unpinnedBytes(h.database.db, who)) - (await openSessionBytes(h.database.db, who));
    expect((await open(free - 100 * MiB, {}, 1)).status).toBe(201);
    const [a, b] = [randomBytes(60 * MiB), randomBytes(60 * MiB)];
    const results = await Promise.all([upload(h, a, {}, 1), upload(h, b, {}, 1)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 413]);
    expect(results.find((r) => r.status === 413)!.body.error.code).toBe('quota_exceeded');
    expect(await unpinnedBytes(h.database.db, who)).toBeLessThanOrEqual(150 * MiB);
  });

  it('a zero-byte session finishes with an empty PATCH', async () => {
    const s = await open(0);
    const r = await patch(s.body.id, 0, new Uint8Array(0));
    expect(r.status).toBeLessThan(300);
    expect(r.body).toMatchObject({ size: 0, sha256: sha(new Uint8Array(0)) });
  });

  it('expired sessions and their bytes are swept', async () => {
    const s = await open(4 * MiB);
    expect((await patch(s.body.id, 0, randomBytes(MiB))).status).toBe(204);
    await h.database.db.execute(sql`update upload_session set expires_at = now() - interval '1 second' where id = ${s.body.id}`);
    expect((await head(s.body.id)).status).toBe(404);
    const dry = await sweepSessions(h.database.db, h.store, { dryRun: true });
    expect(dry).toContainEqual({ id: s.body.id, bytes: MiB, reason: 'expired' });
    expect(sessionFiles()).toContain(`${s.body.id}.part`);
    await sweepSessions(h.database.db, h.store);
    expect(sessionFiles()).not.toContain(`${s.body.id}.part`);
  });
});

/** A TCP proxy to the gateway that cuts every connection once `cutAfter` request bytes have passed (once per entry). */
async function flakyProxy(target: string, cutAfter: number[], o: { dropResponse?: RegExp } = {}) {
  const { port, hostname } = new URL(target);
  let forwarded = 0;
  const cuts = [...cutAfter];
  const patchOffsets: number[] = [];
  let droppedResponses = 0;
  const sockets = new Set<net.Socket>();
  const cutting = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d) => {
      if (cutting.has(upstream)) return; // this connection is being cut: nothing more goes through
      forwarded += d.length;
      const m = /^PATCH [^\r]*\r\n(?:[^\r]*\r\n)*?upload-offset: (\d+)\r\n/im.exec(d.subarray(0, 4096).toString('latin1'));
      if (m) patchOffsets.push(Number(m[1]));
      if (cuts.length > 0 && forwarded >= cuts[0]!) {
        cuts.shift();
        // The bytes already forwarded still reach the server (end() flushes our write queue, then
        // FIN): destroy() would drop what is queued here and make "how much arrived" a race with
        // the server's event loop. The client learns of the cut only once the server has read up
        // to the FIN and closed its side, as when a connection breaks and both ends see it: if
        // the client's resume probe could overtake bytes still queued for the server, the server
        // rightly ends that PATCH at the probe and keeps only what it had read by then (possibly
        // nothing under load), and "resumed, not restarted" would be a race.
        cutting.add(upstream);
        client.pause();
        upstream.end();
        upstream.once('close', () => client.destroy());
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (cutting.has(upstream)) return; // the client is being cut off: it hears nothing more
      if (o.dropResponse?.test(d.toString('latin1'))) {
        o.dropResponse = undefined; // once: the answer is lost on the way back
        droppedResponses++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    for (const s of [client, upstream])
      s.on('error', () => {}).on('close', () => {
        const other = s === client ? upstream : client;
        if (!cutting.has(other)) other.destroy();
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cutsLeft: () => cuts.length,
    droppedResponses: () => droppedResponses,
    /** Upload-Offset of every PATCH that went through */
    patchOffsets: () => patchOffsets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('SDK uploadFile', () => {
  it('picks a cut-off upload up where the gateway left it, twice, and gets the same blob', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-resume-'));
    const file = path.join(dir, 'weights.bin');
    const bytes = randomBytes(20 * MiB + 99);
    fs.writeFileSync(file, bytes);
    const proxy = await flakyProxy(h.url, [6 * MiB, 14 * MiB]);
    try {
      const account = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey as Hex);
      let progress = 0;
      const r = await uploadFile({
        gateway: proxy.url,
        file,
        resumableFrom: 1,
        authHeaders: () =>
          uploadAuthHeaders({ account, chainId: h.chain.deployment.chainId, registry: h.chain.deployment.contracts.ModelRegistry, gateway: h.url }),
        onBytes: (n) => (progress += n),
      });
      expect(proxy.cutsLeft()).toBe(0); // both cuts happened
      expect(r).toMatchObject({ size: bytes.length, sha256: sha(bytes) });
      expect(progress).toBe(bytes.length);
      // resumed, not restarted: the PATCHes after the cuts start at what the gateway had kept
      const offsets = proxy.patchOffsets();
      expect(offsets.length).toBe(3);
      expect(offsets[0]).toBe(0);
      expect(offsets[1]).toBeGreaterThan(0);
      expect(offsets[2]).toBeGreaterThan(offsets[1]!);
      expect(fs.readFileSync(h.store.blobPath(sha(bytes))).equals(bytes)).toBe(true);
      expect(sessionFiles()).toEqual([]);
    } finally {
      await proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('learns the result when the answer to the last PATCH is lost', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-resume-'));
    const file = path.join(dir, 'weights.bin');
    const bytes = randomBytes(5 * MiB + 7);
    fs.writeFileSync(file, bytes);
    // the upload's answer is lost (not the session's creation, which is a 201 too)
    const proxy = await flakyProxy(h.url, [], { dropResponse: /^HTTP\/1\.1 201[\s\S]*"cid"/ });
    try {
      const account = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey as Hex);
      const r = await uploadFile({
        gateway: proxy.url,
        file,
        resumableFrom: 1,
        authHeaders: () =>
          uploadAuthHeaders({ account, chainId: h.chain.deployment.chainId, registry: h.chain.deployment.contracts.ModelRegistry, gateway: h.url }),
      });
      expect(proxy.droppedResponses()).toBe(1);
      expect(r).toMatchObject({ size: bytes.length, sha256: sha(bytes) });
      expect(proxy.patchOffsets()).toEqual([0, bytes.length]); // the second PATCH only asks for the result
    } finally {
      await proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
