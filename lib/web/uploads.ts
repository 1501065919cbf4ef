'use client';

import { asSafetensorsSummary } from '@/lib/artifacts/safetensors';
import { RESUMABLE_FROM_BYTES } from '@/lib/artifacts/upload-protocol';
import type { UploadedFile } from '@/lib/web/draft-manifest';

export type { UploadedFile };

export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(status: number, text: string): Promise<UploadError> {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error) return new UploadError(body.error.code ?? String(status), body.error.message ?? text);
  } catch {}
  return new UploadError(
    String(status),
    status === 404 ? 'This server has no upload endpoint (run the full stack with `npm run dev`).' : text || `HTTP ${status}`,
  );
}

/** One PATCH per part: a dropped connection costs at most one part. */
const PART_BYTES = 32 * 1024 * 1024;
const RETRIES = 6;

type Body = { size: number; sha256: string; cid: string; safetensors?: unknown };

/** One XHR with upload progress (fetch has none); resolves with status, text and the Upload-Offset header. */
function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Blob | null,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<{ status: number; text: string; offset: string | null }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onerror = () => reject(new UploadError('network', 'The upload was interrupted (network error).'));
    xhr.onabort = () => reject(new UploadError('aborted', 'Upload canceled.'));
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText, offset: xhr.getResponseHeader('upload-offset') });
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(body);
  });
}

function toUploaded(file: File, text: string): UploadedFile {
  try {
    const body = JSON.parse(text) as Body;
    return { path: file.name, size: body.size, sha256: body.sha256, cid: body.cid, safetensors: asSafetensorsSummary(body.safetensors) };
  } catch {
    throw new UploadError('bad_response', 'The server answered the upload with something that is not JSON.');
  }
}

/**
 * Upload authorization headers (renewed before they expire: app/proposals/new/use-uploads.ts);
 * `renew` asks for a fresh signature now (the server still said "expired", e.g. its clock is ahead).
 */
export type UploadHeaders = (renew?: boolean) => Promise<Record<string, string>>;

/**
 * Uploads one file with progress events. Files from RESUMABLE_FROM_BYTES go through a resumable
 * session in PART_BYTES parts: when a part fails on the network, the page asks the server how much
 * it kept and goes on from there (RETRIES tries in a row without progress), so a dropped connection
 * does not restart a multi-GB upload. Smaller files are one POST /api/uploads.
 */
export async function uploadWithProgress(
  file: File,
  headers: UploadHeaders,
  onProgress: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<UploadedFile> {
  const name = encodeURIComponent(file.name);
  if (file.size >= RESUMABLE_FROM_BYTES) {
    const r = await resumable(file, name, headers, onProgress, signal);
    if (r) return r;
  }
  const post = async (renew: boolean) =>
    send(
      'POST',
      '/api/uploads',
      { 'content-type': 'application/octet-stream', 'x-file-name': name, ...(await headers(renew)) },
      file,
      (n) => onProgress(n, file.size),
      signal,
    );
  let r = await post(false);
  if (expired(r.status, r.text)) r = await post(true); // signed again once, then the answer stands
  if (r.status >= 300) throw await errorOf(r.status, r.text);
  return toUploaded(file, r.text);
}

/** The server refused the authorization as expired (the request can be sent again, signed anew). */
const expired = (status: number, text: string) => status === 401 && text.includes('upload_authorization_expired');

/** localStorage may be missing or full (private windows): remembering sessions is best effort. */
function readMemo(key: string): string | null {
  try {
    const v = window.localStorage.getItem(key);
    return v && /^[0-9a-f]{32}$/.test(v) ? v : null;
  } catch {
    return null;
  }
}

function writeMemo(key: string, id: string | null): void {
  try {
    if (id) window.localStorage.setItem(key, id);
    else window.localStorage.removeItem(key);
  } catch {}
}

/** null when the server has no sessions (then the caller sends one POST). */
async function resumable(
  file: File,
  name: string,
  headers: UploadHeaders,
  onProgress: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<UploadedFile | null> {
  // A session this browser opened for the same file (name, size, last modified) before a reload or
  // a crash is picked up where the server left it; the server keeps sessions for their account only.
  const memo = `modeldao.upload-session:${file.name}:${file.size}:${file.lastModified}`;
  let id: string | null = null;
  let offset = 0;
  const remembered = readMemo(memo);
  if (remembered) {
    const st = await fetch(`/api/uploads/sessions/${remembered}`, { method: 'HEAD', headers: await headers(), signal }).catch(() => null);
    if (st?.status === 200 && st.headers.get('upload-length') === String(file.size)) {
      id = remembered;
      offset = Number(st.headers.get('upload-offset'));
      onProgress(offset, file.size);
    } else writeMemo(memo, null);
  }
  if (!id) {
    const created = await fetch('/api/uploads/sessions', {
      method: 'POST',
      headers: { 'upload-length': String(file.size), 'x-file-name': name, ...(await headers()) },
      signal,
    });
    const createdText = await created.text();
    if (created.status === 404 || created.status === 405 || created.status === 501) return null;
    if (!created.ok) throw await errorOf(created.status, createdText);
    id = (JSON.parse(createdText) as { id: string }).id;
    writeMemo(memo, id);
  }
  const url = `/api/uploads/sessions/${id}`;
  // On any fatal error the session is dropped, so it does not hold the quota until it expires.
  const giveUp = async (err: unknown): Promise<never> => {
    writeMemo(memo, null);
    await fetch(url, { method: 'DELETE', headers: await headers().catch(() => ({})) }).catch(() => {});
    throw err;
  };
  const finished = (text: string) => {
    writeMemo(memo, null);
    return toUploaded(file, text);
  };
  let failures = 0; // turns in a row without progress
  let renewed = false;
  for (;;) {
    const at = offset;
    const end = Math.min(file.size, at + PART_BYTES);
    let problem = false;
    try {
      const r = await send(
        'PATCH',
        url,
        { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(at), ...(await headers()) },
        file.slice(at, end),
        (n) => onProgress(at + n, file.size),
        signal,
      );
      if (r.status === 200 || r.status === 201) return finished(r.text);
      if (r.status === 204 && r.offset !== null) {
        offset = Number(r.offset);
        failures = 0;
        renewed = false;
        continue;
      }
      if (expired(r.status, r.text) && !renewed) {
        renewed = true; // a long upload outlived its signature: sign again once, then go on
        await headers(true);
      } else if (r.status !== 204 && r.status !== 409 && r.status < 500) {
        return await giveUp(await errorOf(r.status, r.text));
      }
      problem = r.status !== 204;
    } catch (err) {
      if (!(err instanceof UploadError) || err.code !== 'network') return giveUp(err);
      problem = true;
    }
    // ask the server what it has (a network error here is one more failed try)
    try {
      const st = await fetch(url, { method: 'HEAD', headers: await headers(), signal });
      if (st.status === 404) return giveUp(new UploadError('upload_session_lost', 'The server no longer has this upload; add the file again.'));
      if (st.status === 200) offset = Number(st.headers.get('upload-offset'));
    } catch {
      if (signal?.aborted) return giveUp(new UploadError('aborted', 'Upload canceled.'));
    }
    onProgress(offset, file.size);
    if (offset > at) failures = 0;
    else if (problem && ++failures > RETRIES)
      return giveUp(new UploadError('network', `The upload made no progress in ${RETRIES} tries; the connection to the server keeps failing.`));
    if (failures > 0) await new Promise((res) => setTimeout(res, Math.min(500 * 2 ** failures, 8000)));
  }
}

/** POST /api/manifests → the manifest's digest (0x…). */
export async function storeManifest(manifest: unknown, headers: UploadHeaders): Promise<`0x${string}`> {
  const post = async (renew: boolean) => {
    const res = await fetch('/api/manifests', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await headers(renew)) },
      body: JSON.stringify(manifest),
    });
    return { res, text: await res.text() };
  };
  let { res, text } = await post(false);
  if (expired(res.status, text)) ({ res, text } = await post(true));
  if (!res.ok) throw await errorOf(res.status, text);
  const body = JSON.parse(text) as { digest?: string; manifestDigest?: string };
  const d = (body.manifestDigest ?? body.digest ?? '').replace(/^sha256:/, '0x');
  if (!/^0x[0-9a-f]{64}$/i.test(d)) throw new UploadError('bad_response', 'The server did not return a manifest digest.');
  return d.toLowerCase() as `0x${string}`;
}
