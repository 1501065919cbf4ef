import type { Manifest } from '@/lib/manifest';
import type { SafetensorsSummary } from '@/lib/artifacts/safetensors';
import type { ModelOption } from './proposal-actions';

// The manifest a publish proposal stores, drafted from the files uploaded so far (pure).

export interface UploadedFile {
  path: string;
  size: number;
  sha256: string;
  cid: string;
  safetensors: SafetensorsSummary | null;
}

export interface ManifestFields {
  license: string;
  notes: string;
  /** JSON array of eval results, as typed */
  evals: string;
}

/** null when `evals` is empty or a JSON array; otherwise what is wrong, in words. */
export function evalsProblem(evals: string): string | null {
  if (!evals.trim()) return null;
  try {
    if (Array.isArray(JSON.parse(evals))) return null;
  } catch {}
  return 'Eval results must be a JSON array, e.g. [{"name":"hellaswag","acc":0.41}].';
}

export function draftManifest(model: Pick<ModelOption, 'slug' | 'parent'>, uploaded: UploadedFile[], f: ManifestFields): Manifest {
  let evals: unknown = [];
  try {
    evals = f.evals.trim() ? JSON.parse(f.evals) : [];
  } catch {}
  return {
    schema: 'modeldao.manifest/v1',
    model: model.slug,
    parent: model.parent ? `sha256:${model.parent.digest.slice(2).toLowerCase()}` : null,
    files: uploaded.map((u) => ({ path: u.path, size: u.size, sha256: u.sha256, cid: u.cid })).sort((a, b) => a.path.localeCompare(b.path)),
    metadata: {
      license: f.license.trim() || undefined,
      description: f.notes.trim() || undefined,
      evals: Array.isArray(evals) ? evals : [],
    },
  };
}

/** sha256 → safetensors summary of the uploaded files (the diff's "after" side). */
export function uploadedSafetensors(uploaded: UploadedFile[]): Record<string, SafetensorsSummary> {
  const st: Record<string, SafetensorsSummary> = {};
  for (const u of uploaded) if (u.safetensors) st[u.sha256] = u.safetensors;
  return st;
}
