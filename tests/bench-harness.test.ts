import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { median, percentile, runBench } from '../scripts/bench/harness.ts';

describe('bench statistics', () => {
  it('median: middle sample, mean of the two middle ones for an even count, order-free', () => {
    expect(median([5])).toBe(5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5); // the old bench-indexer copy answered 3 here
    expect(median([10, 1, 1000, 2])).toBe(6);
  });

  it('median and percentile refuse no samples and non-numbers instead of answering NaN', () => {
    expect(() => median([])).toThrow(/no samples/);
    expect(() => percentile([], 99)).toThrow(/no samples/);
    expect(() => median([1, NaN])).toThrow(/not a finite number/);
    expect(() => percentile([1, 2], 101)).toThrow(/outside/);
  });

  it('percentile interpolates between closest ranks (numpy default)', () => {
    const xs = Array.from({ length: 101 }, (_, i) => 100 - i); // 0..100 shuffled by reversal
    expect(percentile(xs, 0)).toBe(0);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([1, 2, 3, 4], 50)).toBe(median([1, 2, 3, 4]));
    expect(percentile([10, 20], 25)).toBe(12.5);
    expect(percentile([7, 7, 7], 90)).toBe(7);
  });
});

function fakeProcess() {
  return Object.assign(new EventEmitter(), {}) as unknown as Pick<NodeJS.Process, 'on' | 'off'> & EventEmitter;
}

describe('runBench', () => {
  it('prints the result as the last line with the bench name, after cleanups ran in reverse order', async () => {
    const order: string[] = [];
    const lines: string[] = [];
    const codes: number[] = [];
    await runBench(
      'unit',
      async (b) => {
        b.defer(() => order.push('first registered'));
        b.defer(async () => order.push('second registered'));
        return { ours_ms: 1, goal: 'fast', goal_met: true };
      },
      { write: (l) => (order.push('result'), lines.push(l)), exit: (c) => codes.push(c), signals: fakeProcess() },
    );
    expect(order).toEqual(['second registered', 'first registered', 'result']);
    const result = JSON.parse(lines.at(-1)!);
    expect(result).toMatchObject({ bench: 'unit', ours_ms: 1, goal: 'fast', goal_met: true });
    expect(typeof result.load_avg_1m).toBe('number');
    expect(codes).toEqual([0]);
  });

  it('cleans up and exits 1 without a result line when the bench throws, and when a cleanup throws the others still run', async () => {
    const order: string[] = [];
    const lines: string[] = [];
    const codes: number[] = [];
    await runBench(
      'unit',
      async (b) => {
        b.defer(() => order.push('a'));
        b.defer(() => {
          throw new Error('cleanup broke');
        });
        throw new Error('bench broke');
      },
      { write: (l) => lines.push(l), exit: (c) => codes.push(c), signals: fakeProcess() },
    );
    expect(order).toEqual(['a']);
    expect(lines).toEqual([]);
    expect(codes).toEqual([1]);
  });

  it('refuses a result without a boolean goal_met', async () => {
    const codes: number[] = [];
    const lines: string[] = [];
    await runBench('unit', async () => ({ goal: 'x', goal_met: 'yes' }) as never, {
      write: (l) => lines.push(l),
      exit: (c) => codes.push(c),
      signals: fakeProcess(),
    });
    expect(lines).toEqual([]);
    expect(codes).toEqual([1]);
  });

  it('on SIGINT aborts the signal, cleans up once and exits 130', async () => {
    const proc = fakeProcess();
    const cleaned: string[] = [];
    const codes: number[] = [];
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    let aborted: AbortSignal | null = null;
    let exited!: () => void;
    const exitedP = new Promise<void>((r) => (exited = r));
    const run = runBench(
      'unit',
      async (b) => {
        aborted = b.signal;
        b.defer(() => cleaned.push('server stopped'));
        b.signal.addEventListener('abort', () => release());
        proc.emit('SIGINT');
        proc.emit('SIGINT'); // the same Ctrl-C relayed again (tsx's CLI does): still one cleanup, no early exit
        await stuck;
        return { goal: 'x', goal_met: true };
      },
      { write: () => cleaned.push('result printed'), exit: (c) => (codes.push(c), exited()), signals: proc },
    );
    await exitedP;
    await run;
    expect(aborted!.aborted).toBe(true);
    expect(cleaned).toEqual(['server stopped']);
    expect(codes).toEqual([130]);
  });
});
