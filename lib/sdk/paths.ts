import os from 'node:os';
import path from 'node:path';
import { pathProblem } from '../manifest/index.ts';
import { ModelDaoError } from './errors.ts';

/** Cache root: $MODELDAO_CACHE, else $XDG_CACHE_HOME/modeldao, else ~/.cache/modeldao. */
export function defaultCacheDir(): string {
  if (process.env.MODELDAO_CACHE) return path.resolve(process.env.MODELDAO_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'modeldao');
}

/**
 * A manifest comes from an untrusted gateway until its digest is checked, and even an approved one
 * must not write outside the target directory. The rules are the server's (lib/manifest pathProblem:
 * relative, `/`-separated, no `.`/`..`/empty segments, no backslash, control characters or drive
 * letters, no reserved `.modeldao`).
 */
export function checkManifestPath(p: unknown): string {
  if (typeof p !== 'string') throw unsafe(p, 'not a string');
  const problem = pathProblem(p);
  if (problem) throw unsafe(p, problem);
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
