// The one skeleton every `npm run bench:*` runs on (see scripts/bench/README.md):
//   await runBench('api', async (b) => { …; b.defer(() => thing.stop()); …; return { …, goal, goal_met } });
// - cleanups registered with b.defer run last-in-first-out, exactly once, on success, on a thrown
//   error, and on Ctrl-C / SIGTERM (then the process exits 130 / 143 after cleaning up);
// - progress goes to stderr (b.log); the LAST stdout line is the result as one JSON object, which
//   must carry `goal` (the goal in words) and a boolean `goal_met` computed from the figures;
// - a second Ctrl-C more than 2 s after the first exits without waiting for the cleanup;
// - exit code 0 when the bench ran (whether or not the goal was met: goal_met says that), 1 when it failed.
import os from 'node:os';

export { median, percentile, percentileOfSorted } from './stats.ts';

export interface BenchResult {
  /** the goal in words, with the thresholds goal_met checks */
  goal: string;
  goal_met: boolean;
  [figure: string]: unknown;
}

export interface Bench {
  /** Registers a cleanup (stop a server, remove a temp dir); cleanups run in reverse order. */
  defer(cleanup: () => unknown): void;
  /** Progress line on stderr, prefixed with the bench's name. */
  log(message: string): void;
  /** Aborted on SIGINT/SIGTERM: pass it to long waits so they stop early. */
  signal: AbortSignal;
}

export interface RunOptions {
  /** for tests: where the result line goes (default stdout) and how the process ends */
  write?: (line: string) => void;
  exit?: (code: number) => void;
  /** for tests: the process-like object whose signals are handled */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/** A second Ctrl-C this long after the first exits at once. */
const FORCE_AFTER_MS = 2000;

/** JSON for the result line: bigint figures become numbers (gas), everything else as is. */
function toJson(result: BenchResult): string {
  return JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
}

export async function runBench(name: string, body: (b: Bench) => Promise<BenchResult>, options: RunOptions = {}): Promise<number> {
  const write = options.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? process;
  const log = (m: string) => void process.stderr.write(`[bench:${name}] ${m}\n`);
  const cleanups: (() => unknown)[] = [];
  const controller = new AbortController();
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.splice(0).reverse()) {
        try {
          await c();
        } catch (err) {
          log(`cleanup failed: ${(err as Error)?.message ?? String(err)}`);
        }
      }
    })());

  let interrupted = false;
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      // A repeat soon after the first is the same Ctrl-C relayed (the tsx CLI forwards it again);
      // a later one means "stop now", cleanup or not.
      if (Date.now() - firstSignalAt < FORCE_AFTER_MS) return;
      log(`${sig} again: exiting without waiting for the cleanup`);
      exit(sig === 'SIGINT' ? 130 : 143);
      return;
    }
    interrupted = true;
    firstSignalAt = Date.now();
    log(`${sig}: cleaning up`);
    controller.abort(new Error(`interrupted by ${sig}`));
    void cleanup().then(() => exit(sig === 'SIGINT' ? 130 : 143));
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);

  let code = 0;
  try {
    const result = await body({ defer: (c) => void cleanups.push(c), log, signal: controller.signal });
    if (typeof result.goal !== 'string' || !result.goal || typeof result.goal_met !== 'boolean') {
      throw new Error('a bench result needs `goal` (words) and a boolean `goal_met`');
    }
    await cleanup();
    if (interrupted) return 130;
    write(toJson({ bench: name, ...result, load_avg_1m: result.load_avg_1m ?? loadAverage() }));
  } catch (err) {
    await cleanup();
    if (interrupted) return 130; // the signal handler exits
    console.error(err);
    code = 1;
  } finally {
    signals.off('SIGINT', onInt);
    signals.off('SIGTERM', onTerm);
  }
  exit(code);
  return code;
}

function loadAverage(): number {
  return +os.loadavg()[0]!.toFixed(2);
}
