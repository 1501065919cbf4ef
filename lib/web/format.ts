export function shortAddress(a: string | null | undefined): string {
  if (!a) return '—';
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

function group(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * The exact amount of a fixed-point integer: 1 wei → "0.000000000000000001", 1234.5e18 →
 * "1,234.5". For what voters approve (action summaries): no rounding, no float.
 */
export function formatUnitsExact(v: bigint | string, decimals = 18): string {
  const n = BigInt(v);
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  const base = 10n ** BigInt(decimals);
  const frac = decimals > 0 ? (abs % base).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  return `${sign}${group((abs / base).toString())}${frac ? `.${frac}` : ''}`;
}

/**
 * Balances and tallies, short: 1234.5678 tokens → "1,234.56". Cut toward zero (never rounded up
 * past what is there), and a non-zero amount below the last shown digit is "<0.01", never "0".
 */
export function formatTokens(v: bigint | string | null | undefined, decimals = 18, maxFraction = 2): string {
  if (v === null || v === undefined) return '—';
  const n = BigInt(v);
  const abs = n < 0n ? -n : n;
  const sign = n < 0n ? '-' : '';
  const shown = Math.min(maxFraction, decimals);
  const unit = 10n ** BigInt(decimals - shown); // value of the last shown digit
  const cut = abs / unit;
  if (cut === 0n && abs > 0n) return `${sign}<${shown > 0 ? `0.${'0'.repeat(shown - 1)}1` : '1'}`;
  const scale = 10n ** BigInt(shown);
  const frac = shown > 0 ? (cut % scale).toString().padStart(shown, '0').replace(/0+$/, '') : '';
  return `${cut === 0n ? '' : sign}${group((cut / scale).toString())}${frac ? `.${frac}` : ''}`;
}

export function formatBytes(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined) return '—';
  let v = Number(n);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatParams(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const v = Number(n);
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)} B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} K`;
  return String(v);
}

export function formatSignedParams(n: number): string {
  return (n > 0 ? '+' : n < 0 ? '−' : '±') + formatParams(Math.abs(n));
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
/** Seconds from now → "in 3 hours" / "5 minutes ago". */
export function relativeTime(targetSec: number, nowSec: number): string {
  const d = targetSec - nowSec;
  const abs = Math.abs(d);
  if (abs < 60) return rtf.format(Math.round(d), 'second');
  if (abs < 3600) return rtf.format(Math.round(d / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(d / 3600), 'hour');
  return rtf.format(Math.round(d / 86400), 'day');
}

export function formatDateTime(sec: number | bigint | null | undefined): string {
  if (sec === null || sec === undefined) return '—';
  return new Date(Number(sec) * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

export function percent(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  return Number((part * 10000n) / whole) / 100;
}

/**
 * How much of `whole` is reached, in whole percent, for progress that has a finish line (quorum):
 * cut down, so 99.6% is "99%" and never "100%" before it is reached, and a non-zero part below 1%
 * is "<1%", never "0%". Capped at 100%.
 */
export function formatProgress(part: bigint, whole: bigint): string {
  if (whole <= 0n || part >= whole) return '100%';
  if (part <= 0n) return '0%';
  const pct = (part * 100n) / whole;
  return pct === 0n ? '<1%' : `${pct}%`;
}
