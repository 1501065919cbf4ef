import 'server-only';
import { cache } from 'react';
import { eq, inArray } from 'drizzle-orm';
import { blob, manifest as manifestTable } from '@/db/schema';
import type { ManifestBrief } from '@/lib/web/actions';
import { asSafetensorsSummary, safetensorsDtypes, type SafetensorsSummary, type SafetensorsTensor } from '@/lib/artifacts/safetensors';
import type { Manifest } from '@/lib/manifest';
import { getDb } from './db';

// Manifests and safetensors summaries from the artifact tables (weights engineer's db/schema/artifacts.ts).

// The manifest type is lib/manifest's (one type for server, SDK and pages).
export type { Manifest, ManifestFile } from '@/lib/manifest';

/** What a tensor diff compares (lib/artifacts SafetensorsTensor without its offsets). */
export type TensorInfo = Pick<SafetensorsTensor, 'name' | 'dtype' | 'shape'>;

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
  const blobs = shas.length ? await db.select({ sha256: blob.sha256, safetensors: blob.safetensors }).from(blob).where(inArray(blob.sha256, shas)) : [];
  const safetensors: Record<string, SafetensorsSummary> = {};
  for (const b of blobs) {
    const s = asSafetensorsSummary(b.safetensors);
    if (s) safetensors[b.sha256] = s;
  }
  return { digest: key, manifest, safetensors, brief: briefOf(manifest, safetensors) };
});

export function briefOf(manifest: Manifest, safetensors: Record<string, SafetensorsSummary>): ManifestBrief {
  const summaries = manifest.files.map((f) => safetensors[f.sha256]).filter((s): s is SafetensorsSummary => Boolean(s));
  return {
    files: manifest.files.length,
    totalBytes: manifest.files.reduce((n, f) => n + f.size, 0),
    params: summaries.length ? summaries.reduce((n, s) => n + s.parameters.total, 0) : null,
    dtypes: [...new Set(summaries.flatMap(safetensorsDtypes))],
  };
}
