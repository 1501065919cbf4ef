// Order statistics for every bench (one definition: the benches used to carry five copies of
// `median`, one of which took the upper middle for even counts).

function sorted(xs: readonly number[], what: string): number[] {
  if (xs.length === 0) throw new Error(`${what} of no samples`);
  for (const x of xs) if (!Number.isFinite(x)) throw new Error(`${what}: sample ${x} is not a finite number`);
  return [...xs].sort((a, b) => a - b);
}

/** The middle sample; for an even count, the mean of the two middle samples. */
export function median(xs: readonly number[]): number {
  const s = sorted(xs, 'median');
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) by linear interpolation between closest ranks (numpy's and
 * Excel's PERCENTILE.INC default), so percentile(xs, 50) === median(xs).
 */
export function percentile(xs: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p} is outside 0..100`);
  const s = sorted(xs, `p${p}`);
  return percentileOfSorted(s, p);
}

/** percentile() for samples already sorted ascending (large latency arrays: no copy, no re-sort). */
export function percentileOfSorted(s: readonly number[], p: number): number {
  if (s.length === 0) return NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}
