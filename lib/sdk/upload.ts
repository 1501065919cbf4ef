import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Address } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import { ModelDaoError } from './errors.ts';
import { GatewayHttpError, httpError, kindOfStatus, readBody, request } from './net.ts';
import { sha256File } from '../artifacts/hash.ts';
import { signUploadAuthorization } from '../artifacts/upload-auth-format.ts';
import { RESUMABLE_FROM_BYTES } from '../artifacts/upload-protocol.ts';

export interface UploadResult {
  size: number;
  sha256: string;
  cid: string;
  [k: string]: unknown;
}

export interface UploadOptions {
  gateway: string;
  file: string;
  /** Name the server sees (x-file-name; *.safetensors headers are validated). */
  name?: string;
  /** From uploadAuthHeaders; a function is called for every request (a long upload may outlive one authorization). */
  authHeaders: Record<string, string> | (() => Promise<Record<string, string>>);
  /** Bytes sent (negative when a cut-off resumable upload resends from an earlier offset). */
  onBytes?: (n: number) => void;
  /** Files at least this large go through a resumable session (default 64 MiB; 0 = always, Infinity = never). */
  resumableFrom?: number;
  /** Tries in a row without progress before a resumable upload gives up (default 8). */
  retries?: number;
}

/** A request that moves no bytes for this long is dropped (the gateway hashes as bytes arrive). */
const SEND_IDLE_MS = 120_000;

/** Default size from which uploads are resumable (one figure for browser, SDK and server). */
export { RESUMABLE_FROM_BYTES };

/**
 * `Authorization: ModelDAO-Upload …` — the EIP-712 UploadAuthorization {account, audience, expiry} for
 * this chain, registry and server (`gateway`: its origin is the audience; another server refuses it)
 * (lib/artifacts/upload-auth-format.ts). One signature covers every file and the manifest.
 */
export async function uploadAuthHeaders(o: { account: LocalAccount; chainId: number; registry: Address; gateway: string }): Promise<Record<string, string>> {
  return {
    authorization: await signUploadAuthorization(o.account, { account: o.account.address, chainId: o.chainId, registry: o.registry, audience: o.gateway }),
  };
}

const auth = (o: UploadOptions) => (typeof o.authHeaders === 'function' ? o.authHeaders() : Promise.resolve(o.authHeaders));

/**
 * Uploads one file and checks the server's sha256 against a local hash. Large files go through a
 * resumable session (POST/PATCH /api/uploads/sessions): when the connection drops, the upload asks
 * the gateway how many bytes it kept and goes on from there. Gateways without sessions get the
 * single-request POST /api/uploads.
 */
export async function uploadFile(o: UploadOptions): Promise<UploadResult> {
  const size = fs.statSync(o.file).size;
  if (size >= (o.resumableFrom ?? RESUMABLE_FROM_BYTES)) {
    const r = await resumableUpload(o, size);
    if (r) return r;
  }
  return singleUpload(o, size);
}

function uploadError(e: GatewayHttpError, file: string, fallback = 'upload_failed'): ModelDaoError {
  return new ModelDaoError(kindOfStatus(e.status), e.code ?? fallback, `uploading ${file} failed: ${e.message}`);
}

/** Streams `file` from `start` as the body of one request; resolves with the response (body unread). */
async function sendFile(
  o: UploadOptions,
  url: string,
  method: string,
  headers: Record<string, string>,
  start: number,
  size: number,
  onChunk: (c: Buffer) => void,
) {
  const mod = await import(url.startsWith('https:') ? 'node:https' : 'node:http');
  return new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = mod.request(url, { method, headers: { ...headers, 'content-length': String(size - start) } }, resolve);
    // a stalled connection is given up (and a resumable upload picks up where the gateway is)
    req.setTimeout(SEND_IDLE_MS, () => req.destroy(new Error(`no progress for ${SEND_IDLE_MS / 1000} s`)));
    req.on('error', reject);
    const rs = fs.createReadStream(o.file, { start, highWaterMark: 4 * 1024 * 1024 });
    rs.on('data', (c) => onChunk(c as Buffer));
    rs.on('error', (err) => req.destroy(err));
    req.on('close', () => rs.destroy()); // a cut-off request stops reading the file
    rs.pipe(req);
  });
}

async function parseResult(res: import('node:http').IncomingMessage, o: UploadOptions, size: number, local: string): Promise<UploadResult> {
  const body = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8')) as UploadResult;
  if (body.sha256 !== local || body.size !== size) {
    throw new ModelDaoError(
      'integrity',
      'upload_mismatch',
      `the gateway recorded ${o.file} as sha256 ${body.sha256} (${body.size} bytes); local file is ${local} (${size} bytes)`,
    );
  }
  return body;
}

async function singleUpload(o: UploadOptions, size: number): Promise<UploadResult> {
  const url = `${o.gateway}/api/uploads`;
  const headers = {
    'content-type': 'application/octet-stream',
    'x-file-name': o.name ?? path.basename(o.file),
    ...(await auth(o)),
  };
  const hash = crypto.createHash('sha256');
  const res = await sendFile(o, url, 'POST', headers, 0, size, (c) => {
    hash.update(c); // the same bytes as they go out
    o.onBytes?.(c.length);
  }).catch((err: Error) => {
    throw new ModelDaoError('network', 'upload_failed', `uploading ${o.file} to ${o.gateway} failed: ${err.message}`);
  });
  if ((res.statusCode ?? 0) >= 300) throw uploadError(await httpError(res, url), o.file);
  return parseResult(res, o, size, hash.digest('hex'));
}

/** null when the gateway has no resumable sessions (then the caller falls back to a single POST). */
async function resumableUpload(o: UploadOptions, size: number): Promise<UploadResult | null> {
  // The local sha256 first: the gateway checks it before it keeps anything.
  const local = await sha256File(o.file);

  const createUrl = `${o.gateway}/api/uploads/sessions`;
  const created = await request(createUrl, {
    method: 'POST',
    headers: { 'upload-length': String(size), 'x-expected-sha256': local, 'x-file-name': o.name ?? path.basename(o.file), ...(await auth(o)) },
  }).catch((err: Error) => {
    throw new ModelDaoError('network', 'upload_failed', `uploading ${o.file} to ${o.gateway} failed: ${err.message}`);
  });
  if (created.statusCode === 404 || created.statusCode === 405 || created.statusCode === 501) {
    created.resume();
    return null;
  }
  if ((created.statusCode ?? 0) >= 300) throw uploadError(await httpError(created, createUrl), o.file);
  const { id } = JSON.parse((await readBody(created, 64 * 1024)).toString('utf8')) as { id: string };
  const url = `${o.gateway}/api/uploads/sessions/${id}`;

  let offset = 0;
  let failures = 0; // turns in a row that made no progress
  const retries = o.retries ?? 8;
  const giveUp = async (err: ModelDaoError): Promise<never> => {
    // best effort: an abandoned session would hold the account's quota until it expires
    await request(url, { method: 'DELETE', headers: await auth(o) }).then(
      (r) => r.resume(),
      () => {},
    );
    throw err;
  };
  for (;;) {
    let sentThisTry = 0;
    let problem: string | null = null;
    try {
      const res = await sendFile(
        o,
        url,
        'PATCH',
        { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), ...(await auth(o)) },
        offset,
        size,
        (c) => {
          sentThisTry += c.length;
          o.onBytes?.(c.length);
        },
      );
      const status = res.statusCode ?? 0;
      if (status === 200 || status === 201) return await parseResult(res, o, size, local);
      if (status >= 500 || status === 409 || status === 204) {
        problem = `HTTP ${status}`; // the gateway restarting, a stale offset, or an early stop: ask and go on
        res.resume();
      } else {
        return await giveUp(uploadError(await httpError(res, url), o.file));
      }
    } catch (err) {
      if (err instanceof ModelDaoError) throw err;
      problem = (err as Error).message;
    }
    const before = offset;
    try {
      offset = await currentOffset(o, url);
    } catch (err) {
      if (err instanceof ModelDaoError) throw err;
      problem = (err as Error).message;
    }
    o.onBytes?.(offset - before - sentThisTry); // progress shows what the gateway really has
    if (offset > before) failures = 0;
    else if (++failures > retries) {
      return giveUp(new ModelDaoError('network', 'upload_failed', `uploading ${o.file} to ${o.gateway} made no progress in ${retries} tries: ${problem}`));
    }
    if (failures > 0) await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** failures, 5000)));
  }
}

async function currentOffset(o: UploadOptions, url: string): Promise<number> {
  const res = await request(url, { method: 'HEAD', headers: await auth(o) });
  res.resume();
  if (res.statusCode === 200) return Number(res.headers['upload-offset']);
  if (res.statusCode === 404)
    throw new ModelDaoError('network', 'upload_session_lost', `the gateway no longer has upload session ${url}; start the upload again`);
  throw new Error(`HEAD ${url} → HTTP ${res.statusCode}`);
}
