import 'server-only';
import { cache } from 'react';
import { eq, inArray } from 'drizzle-orm';
import { blob, manifest as manifestTable } from '@/db/schema';
import type { ManifestBrief } from '@/lib/web/actions';
import type { Manifest } from '@/lib/manifest';
import { getDb } from './db';

// Manifests and safetensors summaries from the artifact tables (weights engineer's db/schema/artifacts.ts).

// The manifest type is lib/manifest's (one type for server, SDK and pages).
export type { Manifest, ManifestFile } from '@/lib/manifest';

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

export interface SafetensorsSummary {
  tensors: TensorInfo[];
  params: number;
  dtypes: string[];
}

export interface ManifestView {
  digest: string;
  manifest: Manifest;
  /** sha256 → summary, for the safetensors files the store has a header for */
  safetensors: Record<string, SafetensorsSummary>;
  brief: ManifestBrief;
}

/** Manifest by on-chain digest (0x…), with safetensors summaries; null when this server lacks it. */
export const getManifestView = cache(async (digest: string): Promise<ManifestView | null> => {
  const key = digest.toLowerCase();
  if (!/^0x[0-9a-f]{64}$/.test(key)) return null;
  const db = await getDb();
  const [row] = await db.select({ canonical: manifestTable.canonical }).from(manifestTable).where(eq(manifestTable.digest, key)).limit(1);
  if (!row) return null;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(row.canonical) as Manifest;
  } catch {
    return null;
  }
  const shas = [...new Set(manifest.files.map((f) => f.sha256))];
  const blobs = shas.length
    ? await db.select({ sha256: blob.sha256, safetensors: blob.safetensors }).from(blob).where(inArray(blob.sha256, shas))
    : [];
  const safetensors: Record<string, SafetensorsSummary> = {};
  for (const b of blobs) {
    const s = b.safetensors as StoredSummary | null;
    if (!s || !Array.isArray(s.tensors)) continue;
    safetensors[b.sha256] = {
      tensors: s.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
      params: s.parameters?.total ?? s.tensors.reduce((n, t) => n + t.shape.reduce((a, c) => a * c, 1), 0),
      dtypes: Object.keys(s.parameters?.byDtype ?? {}).length
        ? Object.keys(s.parameters!.byDtype)
        : [...new Set(s.tensors.map((t) => t.dtype))],
    };
  }
  return { digest: key, manifest, safetensors, brief: briefOf(manifest, safetensors) };
});

/** lib/artifacts SafetensorsSummary as stored in blob.safetensors */
interface StoredSummary {
  tensors: { name: string; dtype: string; shape: number[] }[];
  parameters?: { total: number; byDtype: Record<string, number> };
}

export function briefOf(manifest: Manifest, safetensors: Record<string, SafetensorsSummary>): ManifestBrief {
  const summaries = manifest.files.map((f) => safetensors[f.sha256]).filter((s): s is SafetensorsSummary => Boolean(s));
  return {
    files: manifest.files.length,
    totalBytes: manifest.files.reduce((n, f) => n + f.size, 0),
    params: summaries.length ? summaries.reduce((n, s) => n + s.params, 0) : null,
    dtypes: [...new Set(summaries.flatMap((s) => s.dtypes))],
  };
}
