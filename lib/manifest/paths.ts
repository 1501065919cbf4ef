// Manifest path rules, with no Node or library imports so the browser (web form) can use them too.

/**
 * Names no manifest may use in any segment: clients write their own bookkeeping there
 * (`<dir>/.modeldao/origin.json`, `manifest.json`), so a version listing it could never be pulled.
 * Compared case-insensitively (case-insensitive filesystems).
 */
export const RESERVED_SEGMENTS: readonly string[] = ['.modeldao'];

// One rule book for manifest paths: POST /api/manifests, the SDK/CLI (pull, verify, propose) and the
// web form all call pathProblem/pathSetProblems (through manifestSchema or directly).

/** Why a path is not acceptable, or null. Paths are relative, '/'-separated, portable. */
export function pathProblem(p: string): string | null {
  if (p.length === 0) return 'path is empty';
  if (p.length > 1024) return 'path is longer than 1024 characters';
  if (p.startsWith('/')) return 'path must be relative (no leading "/")';
  if (p.includes('\\')) return 'path must use "/" as separator (no backslash)';
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'path contains control characters';
  if (/^[A-Za-z]:/.test(p)) return 'path must be relative (no drive letter)';
  for (const seg of p.split('/')) {
    if (seg === '..') return 'path must not contain ".." segments';
    if (seg === '.') return 'path must not contain "." segments';
    if (seg === '') return 'path must not contain empty segments ("//" or a trailing "/")';
    if (RESERVED_SEGMENTS.includes(seg.toLowerCase())) return `path must not use the reserved name "${seg}"`;
  }
  return null;
}

/**
 * Problems of a set of paths that are each fine alone: the same path twice (compared
 * case-insensitively, so it cannot collide on a case-insensitive filesystem) and a file whose path is
 * a directory of another ("a" and "a/b"). Returns the index of the offending entry and why.
 */
export function pathSetProblems(paths: readonly string[]): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  const seen = new Map<string, number>();
  paths.forEach((p, i) => {
    const key = p.toLowerCase();
    const prev = seen.get(key);
    if (prev !== undefined)
      problems.push({
        index: i,
        message: `duplicate path "${p}" (also files[${prev}]${paths[prev] === p ? '' : `, "${paths[prev]}", differing only in case`})`,
      });
    else seen.set(key, i);
  });
  paths.forEach((p, i) => {
    const parts = p.toLowerCase().split('/');
    for (let n = 1; n < parts.length; n++) {
      const dir = seen.get(parts.slice(0, n).join('/'));
      if (dir !== undefined) {
        problems.push({ index: i, message: `"${p}" is nested under the file "${paths[dir]}" (files[${dir}])` });
        break;
      }
    }
  });
  return problems;
}
