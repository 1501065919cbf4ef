// A one-line progress bar on stderr (bytes, rate, ETA); silent when stderr is not a terminal.

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressBar {
  private last = 0;
  private start = Date.now();
  private samples: { t: number; b: number }[] = [];
  private active: boolean;
  private drawn = false;

  constructor(
    private stream: NodeJS.WriteStream = process.stderr,
    enabled = true,
  ) {
    this.active = enabled && !!stream.isTTY;
  }

  update(done: number, total: number, label = ''): void {
    if (!this.active) return;
    const now = Date.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    this.samples.push({ t: now, b: done });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 3000) this.samples.shift();
    const first = this.samples[0]!; // pushed above
    const rate = now > first.t ? ((done - first.b) * 1000) / (now - first.t) : 0;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 60));
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${formatEta(eta)}${label ? '  ' + label : ''}`;
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Prints a message above the bar. */
  note(message: string): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(message + '\n');
  }

  done(): void {
    if (!this.active || !this.drawn) return;
    const secs = (Date.now() - this.start) / 1000;
    this.stream.write(`\r\x1b[K`);
    void secs;
    this.drawn = false;
  }
}
