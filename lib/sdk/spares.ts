/**
 * Buffers kept for reuse (read buffers, block buffers): a fresh one per request is external memory
 * to V8, whose growth starts full GCs. At most `max` are kept, and all are let go after `idleMs`
 * without a give-back, so a long-lived process does not hold them for nothing.
 */
export class Spares<T> {
  private readonly items: T[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly max: number,
    private readonly idleMs = 10_000,
    /** called for each item let go (not kept, or dropped when idle) */
    private readonly drop?: (item: T) => void,
  ) {}

  /** A kept one (the last given back), or undefined. */
  take(): T | undefined {
    return this.items.pop();
  }

  /** Keeps `item` for a later `take` (dropped when `max` are kept already). */
  give(item: T): void {
    if (this.items.length < this.max) this.items.push(item);
    else this.drop?.(item);
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.timer = null;
        for (const item of this.items.splice(0)) this.drop?.(item);
      }, this.idleMs);
      this.timer.unref();
    }
  }
}
