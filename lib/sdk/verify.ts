import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { connectChain, type ChainConnection, type ChainOptions } from './chain.ts';
import { ModelDaoError } from './errors.ts';
import { digestHex, parseManifest, sha256Hex, type Manifest } from './manifest.ts';
import { defaultCacheDir, safeJoin } from './paths.ts';
import type { Origin } from './pull.ts';
import { resolveApproved, type ApprovedVersion } from './resolve.ts';
import { isSlug } from '../slug.ts';

export interface VerifyOptions extends ChainOptions {
  /** A directory made by `pull --out` (or a snapshot folder), or a model slug (its snapshot in the cache). */
  target: string;
  /** With a slug: which version's snapshot (default the current one on chain). */
  version?: number;
  cacheDir?: string;
  chain?: ChainConnection;
  onProgress?: (done: number, total: number) => void;
}

export interface FileCheck {
  path: string;
  ok: boolean;
  problem?: 'missing' | 'size' | 'sha256';
  detail?: string;
}

export interface VerifyResult {
  ok: boolean;
  dir: string;
  approved: ApprovedVersion;
  manifest: Manifest;
  files: FileCheck[];
}

async function hashFile(file: string, onBytes: (n: number) => void): Promise<string> {
  const h = crypto.createHash('sha256');
  const rs = fs.createReadStream(file, { highWaterMark: 8 * 1024 * 1024 });
  for await (const c of rs) {
    h.update(c as Buffer);
    onBytes((c as Buffer).length);
  }
  return h.digest('hex');
}

/**
 * Re-hashes a local copy against the chain: the version's digest is read from the registry again
 * (so a version revoked since the pull fails), the local manifest must hash to it, and every file to
 * its manifest entry.
 */
export async function verify(opts: VerifyOptions): Promise<VerifyResult> {
  let dir: string;
  const asDir = path.resolve(opts.target);
  const isDir = fs.existsSync(path.join(asDir, '.modeldao', 'origin.json'));
  const chain = opts.chain ?? (await connectChain(opts));
  let approved: ApprovedVersion;
  if (isDir) {
    dir = asDir;
    let origin: Origin;
    try {
      origin = JSON.parse(fs.readFileSync(path.join(dir, '.modeldao', 'origin.json'), 'utf8')) as Origin;
    } catch {
      throw new ModelDaoError('usage', 'not_a_pulled_dir', `${dir}/.modeldao/origin.json is unreadable`);
    }
    approved = await resolveApproved({ chain, slug: origin.slug, version: origin.version });
  } else if (isSlug(opts.target) && !fs.existsSync(asDir)) {
    approved = await resolveApproved({ chain, slug: opts.target, version: opts.version });
    dir = path.join(path.resolve(opts.cacheDir ?? defaultCacheDir()), 'snapshots', approved.slug, String(approved.version));
    if (!fs.existsSync(dir))
      throw new ModelDaoError(
        'not_found',
        'not_pulled',
        `${approved.slug} v${approved.version} is not in the cache (${dir}); run modeldao pull ${approved.slug}`,
      );
  } else {
    throw new ModelDaoError('usage', 'not_a_pulled_dir', `${opts.target} is neither a directory made by modeldao pull nor a model slug`);
  }
  let manifestBytes: Buffer;
  try {
    manifestBytes = fs.readFileSync(path.join(dir, '.modeldao', 'manifest.json'));
  } catch {
    throw new ModelDaoError('integrity', 'manifest_missing', `${dir}/.modeldao/manifest.json is missing`);
  }
  const hex = digestHex(approved.manifestDigest);
  if (sha256Hex(manifestBytes) !== hex) {
    throw new ModelDaoError(
      'integrity',
      'manifest_mismatch',
      `the local manifest of ${approved.slug} v${approved.version} does not hash to the digest on chain (${approved.manifestDigest})`,
    );
  }
  const manifest = parseManifest(manifestBytes, approved.slug);
  const total = manifest.files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  const files: FileCheck[] = [];
  for (const f of manifest.files) {
    const p = safeJoin(dir, f.path);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      files.push({ path: f.path, ok: false, problem: 'missing', detail: 'file is missing' });
      continue;
    }
    if (st.size !== f.size) {
      files.push({ path: f.path, ok: false, problem: 'size', detail: `size ${st.size}, expected ${f.size}` });
      continue;
    }
    const got = await hashFile(p, (n) => {
      done += n;
      opts.onProgress?.(done, total);
    });
    files.push(got === f.sha256 ? { path: f.path, ok: true } : { path: f.path, ok: false, problem: 'sha256', detail: `sha256 ${got}, expected ${f.sha256}` });
  }
  return { ok: files.every((f) => f.ok), dir, approved, manifest, files };
}
