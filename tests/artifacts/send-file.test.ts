// sendFileRange (lib/server/send-file.ts): the body of GET /api/blobs, read into reused buffers.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendFileRange } from '../../lib/server/send-file.ts';

const MiB = 1024 * 1024;

/** Sends bytes `start`..`end` of `file` with sendFileRange; how it settled ('sent' or 'failed: …'). */
async function send(res: http.ServerResponse, file: string, start: number, end: number, opts?: Parameters<typeof sendFileRange>[4]): Promise<string> {
  const fh = await fs.promises.open(file, 'r');
  try {
    await sendFileRange(res, fh, start, end, opts);
    return 'sent';
  } catch (err) {
    res.destroy();
    return `failed: ${(err as Error).message}`;
  } finally {
    await fh.close();
  }
}

describe('sendFileRange', () => {
  let dir: string;
  let file: string;
  let bytes: Buffer;
  let server: http.Server;
  let url: string;
  /** How each request's sendFileRange settled, by the request's path. */
  const outcomes = new Map<string, Promise<string>>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-send-file-'));
    file = path.join(dir, 'blob');
    bytes = randomBytes(32 * MiB + 7); // far more than the buffers and the socket's queue hold
    fs.writeFileSync(file, bytes);
    server = http.createServer((req, res) => {
      const [, start, end] = /^\/(\d+)-(\d+)/.exec(req.url ?? '') ?? [];
      res.writeHead(200, { 'content-length': String(Number(end) - Number(start) + 1) });
      const done = send(res, file, Number(start), Number(end));
      outcomes.set(req.url!, done);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends exactly the bytes of the range, across many reused buffers', async () => {
    for (const [start, end] of [
      [0, bytes.length - 1],
      [1, 1],
      [256 * 1024 - 1, 3 * MiB + 11],
    ] as const) {
      const res = await fetch(`${url}/${start}-${end}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).toBe(true);
      expect(await outcomes.get(`/${start}-${end}`)).toBe('sent');
    }
  });

  it('gives up (and lets the caller close the file) when the client goes away mid-body', async () => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    socket.write(`GET /0-${bytes.length - 1}x HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => socket.once('data', r));
    socket.destroy();
    await expect.poll(() => outcomes.has(`/0-${bytes.length - 1}x`)).toBe(true);
    expect(await outcomes.get(`/0-${bytes.length - 1}x`)).toMatch(/^failed: /);
  });

  it('fails with the offset when the file is shorter than the range', async () => {
    const res = await fetch(`${url}/${bytes.length - 10}-${bytes.length + 99}`).catch((err: Error) => err);
    if (!(res instanceof Error)) await res.arrayBuffer().catch(() => {});
    expect(await outcomes.get(`/${bytes.length - 10}-${bytes.length + 99}`)).toBe(`failed: file ended at ${bytes.length}, before byte ${bytes.length + 99}`);
  });
});

describe('sendFileRange with readableEnd (a file still being written and verified: hf-endpoint)', () => {
  it('sends no byte past the readable end until it moves on; a readableEnd that rejects breaks the body after the readable bytes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-send-file-growing-'));
    const file = path.join(dir, 'part');
    // All bytes are on disk from the start: only readableEnd holds the later ones back.
    const bytes = randomBytes(5 * MiB + 3);
    fs.writeFileSync(file, bytes);
    let readable = 0;
    let refusal: Error | null = null;
    const moved: (() => void)[] = [];
    const setReadable = (n: number, err: Error | null = null) => {
      readable = n;
      refusal = err;
      for (const w of moved.splice(0)) w();
    };
    const readableEnd = async (pos: number) => {
      while (pos >= readable && !refusal) await new Promise<void>((r) => moved.push(r));
      if (refusal) throw refusal;
      return readable;
    };
    let outcome: Promise<string> = Promise.resolve('no request');
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-length': String(bytes.length) });
      outcome = send(res, file, 0, bytes.length - 1, { readableEnd, bufferSize: MiB });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const get = () => {
      const got: Buffer[] = [];
      const ended = new Promise<string>((resolve) => {
        http
          .get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, (res) => {
            res.on('data', (c: Buffer) => got.push(c));
            res.on('end', () => resolve('complete'));
            res.on('error', () => resolve('broken'));
          })
          .on('error', () => resolve('broken'));
      });
      return { received: () => Buffer.concat(got), ended };
    };
    try {
      setReadable(3 * MiB + 5);
      const a = get();
      await expect.poll(() => a.received().length).toBe(3 * MiB + 5);
      await new Promise((r) => setTimeout(r, 300));
      expect(a.received().length).toBe(3 * MiB + 5);
      setReadable(bytes.length);
      expect(await a.ended).toBe('complete');
      expect(a.received().equals(bytes)).toBe(true);
      expect(await outcome).toBe('sent');

      setReadable(MiB);
      const b = get();
      await expect.poll(() => b.received().length).toBe(MiB);
      setReadable(MiB, new Error('leaf 1 does not hash to its CID'));
      expect(await b.ended).toBe('broken');
      expect(b.received().equals(bytes.subarray(0, MiB))).toBe(true);
      expect(await outcome).toBe('failed: leaf 1 does not hash to its CID');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
