import { describe, expect, it } from 'vitest';
import { diffManifests } from '../../lib/web/manifest-diff';
import { buildSafetensors, parseSafetensorsHeader } from '../../lib/artifacts/safetensors';

/** The summary the store keeps for a safetensors file with these tensors (built and parsed for real). */
const summary = (tensors: { name: string; dtype: string; shape: number[] }[]) => {
  const file = buildSafetensors(tensors);
  return parseSafetensorsHeader(file, file.byteLength);
};

const m = (files: { path: string; sha256: string; size: number }[]) => ({
  schema: 'modeldao.manifest/v1' as const,
  model: 'tiny-lm',
  parent: null,
  files: files.map((f) => ({ ...f, cid: 'bafk' })),
});

describe('the diff a voter sees for a new model version', () => {
  it('lists files added, removed and changed, tensors reshaped/added/removed and the parameter delta', () => {
    const before = {
      manifest: m([
        { path: 'model.safetensors', sha256: 'a'.repeat(64), size: 100 },
        { path: 'old.txt', sha256: 'b'.repeat(64), size: 5 },
        { path: 'config.json', sha256: 'c'.repeat(64), size: 7 },
      ]),
      safetensors: {
        ['a'.repeat(64)]: summary([
          { name: 'embed', dtype: 'F32', shape: [10, 4] },
          { name: 'head', dtype: 'F32', shape: [4, 10] },
          { name: 'gone', dtype: 'F32', shape: [3] },
        ]),
      },
    };
    const after = {
      manifest: m([
        { path: 'model.safetensors', sha256: 'd'.repeat(64), size: 140 },
        { path: 'config.json', sha256: 'c'.repeat(64), size: 7 },
        { path: 'tokenizer.json', sha256: 'e'.repeat(64), size: 9 },
      ]),
      safetensors: {
        ['d'.repeat(64)]: summary([
          { name: 'embed', dtype: 'F32', shape: [12, 4] },
          { name: 'head', dtype: 'F32', shape: [4, 10] },
          { name: 'extra', dtype: 'BF16', shape: [2, 2] },
        ]),
      },
    };
    const d = diffManifests(before, after);
    expect(d.files.map((f) => `${f.kind}:${f.path}`)).toEqual([
      'added:tokenizer.json',
      'changed:model.safetensors',
      'removed:old.txt',
      'unchanged:config.json',
    ]);
    const t = Object.fromEntries(d.tensors.map((x) => [x.name, x]));
    expect(t.embed!.kind).toBe('reshaped');
    expect(t.embed!.paramDelta).toBe(8);
    expect(t.extra!.kind).toBe('added');
    expect(t.gone!.kind).toBe('removed');
    expect(d.unchangedTensors).toBe(1);
    expect(d.paramsBefore).toBe(83);
    expect(d.paramsAfter).toBe(92);
    expect(d.paramDelta).toBe(9);
  });

  it('treats a first version as all-added', () => {
    const d = diffManifests(null, { manifest: m([{ path: 'w.safetensors', sha256: 'a'.repeat(64), size: 1 }]), safetensors: {} });
    expect(d.files[0]!.kind).toBe('added');
  });
  it('does not claim "no tensor changed" when the base version has no safetensors header to compare with', () => {
    const before = { manifest: m([{ path: 'model.bin', sha256: 'a'.repeat(64), size: 100 }]), safetensors: {} };
    const after = {
      manifest: m([{ path: 'model.safetensors', sha256: 'd'.repeat(64), size: 140 }]),
      safetensors: { ['d'.repeat(64)]: summary([{ name: 'embed', dtype: 'F32', shape: [10, 4] }]) },
    };
    const d = diffManifests(before, after);
    expect(d.tensorsComparable).toBe(false);
    expect(d.paramsAfter).toBe(40);
    expect(d.paramDelta).toBeNull();
    expect(diffManifests(null, after).tensorsComparable).toBe(true); // a first version: every tensor is added
  });
});
