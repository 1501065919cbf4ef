import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Address } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import { ModelDaoError } from './errors.ts';
import { httpError, readBody } from './net.ts';
import { signUploadAuthorization } from '../artifacts/upload-auth.ts';

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
  /** From uploadAuthHeaders. */
  authHeaders: Record<string, string>;
  onBytes?: (n: number) => void;
}

/**
 * `Authorization: ModelDAO-Upload …` — the EIP-712 UploadAuthorization {account, expiry} for this chain
 * and registry (lib/artifacts/upload-auth.ts). One signature covers every file and the manifest.
 */
export async function uploadAuthHeaders(o: { account: LocalAccount; chainId: number; registry: Address }): Promise<Record<string, string>> {
  return { authorization: await signUploadAuthorization(o.account, { account: o.account.address, chainId: o.chainId, registry: o.registry }) };
}

/** Streams one file to POST /api/uploads and checks the server's sha256 against a local hash. */
export async function uploadFile(o: UploadOptions): Promise<UploadResult> {
  const size = fs.statSync(o.file).size;
  const url = `${o.gateway}/api/uploads`;
  const headers = {
    'content-type': 'application/octet-stream',
    'content-length': String(size),
    'x-file-name': o.name ?? path.basename(o.file),
    ...o.authHeaders,
  };
  const hash = crypto.createHash('sha256');
  const mod = await import(url.startsWith('https:') ? 'node:https' : 'node:http');
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = mod.request(url, { method: 'POST', headers }, resolve);
    req.on('error', reject);
    const rs = fs.createReadStream(o.file, { highWaterMark: 4 * 1024 * 1024 });
    rs.on('data', (c) => {
      hash.update(c as Buffer);
      o.onBytes?.((c as Buffer).length);
    });
    rs.on('error', reject);
    rs.pipe(req);
  }).catch((err: Error) => {
    throw new ModelDaoError('network', 'upload_failed', `uploading ${o.file} to ${o.gateway} failed: ${err.message}`);
  });
  if ((res.statusCode ?? 0) >= 300) {
    const e = await httpError(res, url);
    throw new ModelDaoError(e.status === 401 || e.status === 403 ? 'access' : 'network', e.code ?? 'upload_failed', `uploading ${o.file} failed: ${e.message}`);
  }
  const body = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8')) as UploadResult;
  const local = hash.digest('hex');
  if (body.sha256 !== local || body.size !== size) {
    throw new ModelDaoError('integrity', 'upload_mismatch', `the gateway recorded ${o.file} as sha256 ${body.sha256} (${body.size} bytes); local file is ${local} (${size} bytes)`);
  }
  return body;
}
