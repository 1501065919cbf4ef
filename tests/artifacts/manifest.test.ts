import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalManifest,
  manifestDigest,
  ManifestError,
  parseDigest,
  parseManifest,
  pathProblem,
  validateManifest,
  MANIFEST_SCHEMA,
} from '../../lib/manifest/index.ts';

const file = { path: 'model.safetensors', size: 1048576, sha256: 'a'.repeat(64), cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' };
const manifest = {
  schema: MANIFEST_SCHEMA,
  model: 'tiny-lm',
  parent: null,
  files: [file],
  metadata: { license: 'apache-2.0', description: 'ünïcode €', evals: [{ score: 1.5e-7 }] },
};

describe('manifest', () => {
  it('serialises canonically (RFC 8785: sorted keys, no whitespace, ES number form) whatever the key order', () => {
    const reordered = {
      metadata: { evals: [{ score: 1.5e-7 }], description: 'ünïcode €', license: 'apache-2.0' },
      files: [{ cid: file.cid, sha256: file.sha256, size: file.size, path: file.path }],
      parent: null,
      model: 'tiny-lm',
      schema: MANIFEST_SCHEMA,
    };
    const a = new TextDecoder().decode(canonicalManifest(parseManifest(manifest)));
    const b = new TextDecoder().decode(canonicalManifest(parseManifest(reordered)));
    expect(a).toBe(b);
    expect(a).toBe(
      `{"files":[{"cid":"${file.cid}","path":"model.safetensors","sha256":"${file.sha256}","size":1048576}],"metadata":{"description":"ünïcode €","evals":[{"score":1.5e-7}],"license":"apache-2.0"},"model":"tiny-lm","parent":null,"schema":"modeldao.manifest/v1"}`,
    );
  });

  it('gives the digest as 0x… (contract), sha256:… (humans) and bare hex (store), all of the canonical bytes', () => {
    const d = manifestDigest(parseManifest(manifest));
    const hex = createHash('sha256')
      .update(canonicalManifest(parseManifest(manifest)))
      .digest('hex');
    expect(d).toEqual({ hex, bytes32: `0x${hex}`, prefixed: `sha256:${hex}` });
    for (const form of [d.hex, d.bytes32, d.prefixed, d.bytes32.toUpperCase().replace('0X', '0x')]) expect(parseDigest(form)).toBe(hex);
    expect(parseDigest('0x1234')).toBeNull();
  });

  it('accepts only relative, portable, /-separated paths', () => {
    for (const ok of ['a', 'shards/model-00001-of-00002.safetensors', 'tokenizer/vocab.json', '..hidden', 'a..b']) expect(pathProblem(ok), ok).toBeNull();
    for (const bad of ['', '/abs', '../x', 'a/../b', 'a/..', './a', 'a//b', 'a/', 'a\\b', 'C:/x', 'a\u0000b']) expect(pathProblem(bad), bad).not.toBeNull();
  });

  it('reports unknown blobs, size and CID mismatches and unknown parents precisely', async () => {
    const ctx = (blobs: Record<string, { size: number; cid: string | null }>, manifests: string[] = []) => ({
      statBlob: async (s: string) => blobs[s] ?? null,
      hasManifest: async (h: string) => manifests.includes(h),
    });
    await expect(validateManifest(manifest, ctx({}))).rejects.toMatchObject({ code: 'unknown_blob' });
    await expect(validateManifest(manifest, ctx({ [file.sha256]: { size: 1, cid: file.cid } }))).rejects.toMatchObject({ code: 'blob_mismatch' });
    await expect(validateManifest(manifest, ctx({ [file.sha256]: { size: file.size, cid: 'bafkother' } }))).rejects.toThrow(/cid is bafkother/);
    const withParent = { ...manifest, parent: `sha256:${'b'.repeat(64)}` };
    const err = await validateManifest(withParent, ctx({ [file.sha256]: { size: file.size, cid: file.cid } })).catch((e) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.code).toBe('unknown_parent');
    const ok = await validateManifest(withParent, ctx({ [file.sha256]: { size: file.size, cid: file.cid } }, ['b'.repeat(64)]));
    expect(ok.digest.bytes32).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('rejects unknown top-level fields, bad hashes and negative sizes', () => {
    expect(() => parseManifest({ ...manifest, extra: 1 })).toThrow(ManifestError);
    expect(() => parseManifest({ ...manifest, files: [{ ...file, sha256: 'A'.repeat(64) }] })).toThrow(/sha256/);
    expect(() => parseManifest({ ...manifest, files: [{ ...file, size: -1 }] })).toThrow(/size/);
    expect(() => parseManifest({ ...manifest, parent: '0x' + 'a'.repeat(64) })).toThrow(/parent/);
  });
});
