import os from 'node:os';
import path from 'node:path';
import { ModelDaoError } from './errors.ts';

/** Cache root: $MODELDAO_CACHE, else $XDG_CACHE_HOME/modeldao, else ~/.cache/modeldao. */
export function defaultCacheDir(): string {
  if (process.env.MODELDAO_CACHE) return path.resolve(process.env.MODELDAO_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'modeldao');
}

/**
 * A manifest comes from an untrusted gateway until its digest is checked, and even an approved one
 * must not write outside the target directory. Accepts only relative `/`-separated paths whose
 * segments are plain names (no `.`/`..`, no backslash, no NUL, no drive letters).
 */
export function checkManifestPath(p: unknown): string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024) throw unsafe(p, 'empty or too long');
  if (p.startsWith('/') || p.endsWith('/')) throw unsafe(p, 'must be relative, without a trailing slash');
  if (/[\\\0]/.test(p) || /^[a-zA-Z]:/.test(p)) throw unsafe(p, 'contains a backslash, NUL or drive letter');
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw unsafe(p, 'has an empty, "." or ".." segment');
    if (seg === '.modeldao') throw unsafe(p, 'uses the reserved name .modeldao');
  }
  return p;
}

function unsafe(p: unknown, why: string) {
  return new ModelDaoError('integrity', 'unsafe_path', `manifest file path ${JSON.stringify(p)} is unsafe (${why})`);
}

/** Joins a checked manifest path under root and proves the result stays inside it. */
export function safeJoin(root: string, rel: string): string {
  checkManifestPath(rel);
  const full = path.resolve(root, ...rel.split('/'));
  const r = path.resolve(root);
  if (full !== r && !full.startsWith(r + path.sep)) throw unsafe(rel, 'escapes the target directory');
  return full;
}
