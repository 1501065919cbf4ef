import 'server-only';
import { cache } from 'react';
import type { ManifestBrief } from '@/lib/web/actions';

// Manifests and safetensors summaries from the artifact tables (weights engineer's db/schema/artifacts.ts).

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  cid: string;
}

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

export interface ManifestDoc {
  schema: string;
  model: string;
  parent: string | null;
  files: ManifestFile[];
  metadata?: { license?: string; description?: string; evals?: unknown[]; [k: string]: unknown };
}

export interface ManifestView {
  digest: string;
  manifest: ManifestDoc;
  /** sha256 → summary, for the safetensors files the store has a header for */
  safetensors: Record<string, SafetensorsSummary>;
  brief: ManifestBrief;
}

/** Manifest by on-chain digest (0x…), with safetensors summaries; null when this server lacks it. */
export const getManifestView = cache(async (digest: string): Promise<ManifestView | null> => {
  void digest;
  return null;
});

export function briefOf(manifest: ManifestDoc, safetensors: Record<string, SafetensorsSummary>): ManifestBrief {
  const summaries = manifest.files.map((f) => safetensors[f.sha256]).filter((s): s is SafetensorsSummary => Boolean(s));
  return {
    files: manifest.files.length,
    totalBytes: manifest.files.reduce((n, f) => n + f.size, 0),
    params: summaries.length ? summaries.reduce((n, s) => n + s.params, 0) : null,
    dtypes: [...new Set(summaries.flatMap((s) => s.dtypes))],
  };
}
