// Opt-in phase timings (INDEXER_PROFILE=1): where a backfill spends its time.
const enabled = process.env.INDEXER_PROFILE === '1';
export const phases: Record<string, { ms: number; n: number }> = {};

export async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const p = (phases[name] ??= { ms: 0, n: 0 });
    p.ms += performance.now() - t0;
    p.n++;
  }
}

export function reportPhases(): string {
  return Object.entries(phases)
    .map(([k, v]) => `${k}: ${Math.round(v.ms)} ms / ${v.n}`)
    .join(', ');
}

export function addPhase(name: string, ms: number): void {
  if (!enabled) return;
  const p = (phases[name] ??= { ms: 0, n: 0 });
  p.ms += ms;
  p.n++;
}
