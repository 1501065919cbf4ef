import type { SafetensorsSummary } from '@/lib/artifacts/safetensors';
import type { Manifest } from '@/lib/manifest';
import type { TensorInfo } from './queries/manifests';

// What a new version changes against the version it replaces: files by path, tensors by name
// across all safetensors files of the version, and the parameter count.

export interface FileChange {
  path: string;
  kind: 'added' | 'removed' | 'changed' | 'unchanged';
  sizeBefore: number | null;
  sizeAfter: number | null;
}

export interface TensorChange {
  name: string;
  kind: 'added' | 'removed' | 'reshaped' | 'retyped' | 'reshaped+retyped';
  before: TensorInfo | null;
  after: TensorInfo | null;
  paramDelta: number;
}

export interface ManifestDiff {
  files: FileChange[];
  tensors: TensorChange[];
  /** null when one side has no safetensors headers */
  paramsBefore: number | null;
  paramsAfter: number | null;
  paramDelta: number | null;
  bytesBefore: number;
  bytesAfter: number;
  unchangedTensors: number;
  /** false when the new version has safetensors headers but the base has none to compare with */
  tensorsComparable: boolean;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function tensorsOf(m: Manifest, st: Record<string, SafetensorsSummary>): Map<string, TensorInfo> | null {
  const out = new Map<string, TensorInfo>();
  let any = false;
  for (const f of m.files) {
    const s = st[f.sha256];
    if (!s) continue;
    any = true;
    for (const t of s.tensors) out.set(t.name, t);
  }
  return any ? out : null;
}

export function diffManifests(
  before: { manifest: Manifest; safetensors: Record<string, SafetensorsSummary> } | null,
  after: { manifest: Manifest; safetensors: Record<string, SafetensorsSummary> },
): ManifestDiff {
  const bFiles = new Map((before?.manifest.files ?? []).map((f) => [f.path, f]));
  const aFiles = new Map(after.manifest.files.map((f) => [f.path, f]));
  const files: FileChange[] = [];
  for (const [path, f] of aFiles) {
    const b = bFiles.get(path);
    files.push({
      path,
      kind: !b ? 'added' : b.sha256 === f.sha256 ? 'unchanged' : 'changed',
      sizeBefore: b?.size ?? null,
      sizeAfter: f.size,
    });
  }
  for (const [path, b] of bFiles) if (!aFiles.has(path)) files.push({ path, kind: 'removed', sizeBefore: b.size, sizeAfter: null });
  const order = { added: 0, changed: 1, removed: 2, unchanged: 3 };
  files.sort((x, y) => order[x.kind] - order[y.kind] || x.path.localeCompare(y.path));

  const bT = before ? tensorsOf(before.manifest, before.safetensors) : new Map<string, TensorInfo>();
  const aT = tensorsOf(after.manifest, after.safetensors);
  const tensors: TensorChange[] = [];
  let unchangedTensors = 0;
  if (aT && bT) {
    for (const [name, t] of aT) {
      const b = bT.get(name);
      if (!b) {
        tensors.push({ name, kind: 'added', before: null, after: t, paramDelta: numel(t.shape) });
        continue;
      }
      const reshaped = b.shape.join('x') !== t.shape.join('x');
      const retyped = b.dtype !== t.dtype;
      if (!reshaped && !retyped) {
        unchangedTensors++;
        continue;
      }
      tensors.push({
        name,
        kind: reshaped && retyped ? 'reshaped+retyped' : reshaped ? 'reshaped' : 'retyped',
        before: b,
        after: t,
        paramDelta: numel(t.shape) - numel(b.shape),
      });
    }
    for (const [name, b] of bT) if (!aT.has(name)) tensors.push({ name, kind: 'removed', before: b, after: null, paramDelta: -numel(b.shape) });
  }
  const sum = (m: Map<string, TensorInfo> | null) => (m ? [...m.values()].reduce((n, t) => n + numel(t.shape), 0) : null);
  const paramsBefore = before ? sum(bT) : 0;
  const paramsAfter = sum(aT);
  return {
    files,
    tensors,
    paramsBefore,
    paramsAfter,
    paramDelta: paramsBefore !== null && paramsAfter !== null ? paramsAfter - paramsBefore : null,
    bytesBefore: (before?.manifest.files ?? []).reduce((n, f) => n + f.size, 0),
    bytesAfter: after.manifest.files.reduce((n, f) => n + f.size, 0),
    unchangedTensors,
    tensorsComparable: aT !== null && bT !== null,
  };
}
