'use client';

import type { SafetensorsSummary } from '@/lib/web/queries/manifests';

export interface UploadedFile {
  path: string;
  size: number;
  sha256: string;
  cid: string;
  safetensors: SafetensorsSummary | null;
}

export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** lib/artifacts' summary (parameters.total, byDtype) → the page's shape. */
export function toSummary(raw: unknown): SafetensorsSummary | null {
  const s = raw as { tensors?: { name: string; dtype: string; shape: number[] }[]; parameters?: { total: number; byDtype: Record<string, number> } } | null;
  if (!s || !Array.isArray(s.tensors)) return null;
  return {
    tensors: s.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
    params: s.parameters?.total ?? s.tensors.reduce((n, t) => n + t.shape.reduce((a, c) => a * c, 1), 0),
    dtypes: s.parameters ? Object.keys(s.parameters.byDtype) : [...new Set(s.tensors.map((t) => t.dtype))],
  };
}

async function errorOf(status: number, text: string): Promise<UploadError> {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error) return new UploadError(body.error.code ?? String(status), body.error.message ?? text);
  } catch {}
  return new UploadError(String(status), status === 404 ? 'This server has no upload endpoint (run the full stack with `npm run dev`).' : text || `HTTP ${status}`);
}

/** POST /api/uploads with progress events (XHR: fetch has no upload progress). */
export function uploadWithProgress(
  file: File,
  headers: Record<string, string>,
  onProgress: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<UploadedFile> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/uploads');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-file-name', encodeURIComponent(file.name));
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new UploadError('network', 'The upload was interrupted (network error).'));
    xhr.onabort = () => reject(new UploadError('aborted', 'Upload canceled.'));
    xhr.onload = async () => {
      if (xhr.status >= 300) return reject(await errorOf(xhr.status, xhr.responseText));
      try {
        const body = JSON.parse(xhr.responseText) as { size: number; sha256: string; cid: string; safetensors?: unknown };
        resolve({ path: file.name, size: body.size, sha256: body.sha256, cid: body.cid, safetensors: toSummary(body.safetensors ?? null) });
      } catch {
        reject(new UploadError('bad_response', 'The server answered the upload with something that is not JSON.'));
      }
    };
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}

/** POST /api/manifests → the manifest's digest (0x…). */
export async function storeManifest(manifest: unknown, headers: Record<string, string>): Promise<`0x${string}`> {
  const res = await fetch('/api/manifests', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(manifest),
  });
  const text = await res.text();
  if (!res.ok) throw await errorOf(res.status, text);
  const body = JSON.parse(text) as { digest?: string; manifestDigest?: string };
  const d = (body.manifestDigest ?? body.digest ?? '').replace(/^sha256:/, '0x');
  if (!/^0x[0-9a-f]{64}$/i.test(d)) throw new UploadError('bad_response', 'The server did not return a manifest digest.');
  return d.toLowerCase() as `0x${string}`;
}
