import { formatUnits } from 'viem';

export function shortAddress(a: string | null | undefined): string {
  if (!a) return '—';
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

/** 1234.5678 tokens → "1,234.57"; wei-like bigints with 18 decimals. */
export function formatTokens(v: bigint | string | null | undefined, decimals = 18, maxFraction = 2): string {
  if (v === null || v === undefined) return '—';
  const n = Number(formatUnits(BigInt(v), decimals));
  return n.toLocaleString('en-US', { maximumFractionDigits: maxFraction });
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
  return new Date(Number(sec) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function percent(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  return Number((part * 10000n) / whole) / 100;
}
