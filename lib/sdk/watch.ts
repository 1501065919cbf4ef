// watch(): keeps a directory on the version the DAO approved. Layout:
//   DIR                      a symlink, swapped atomically (rename of a new link over it)
//   DIR.versions/v<N>-<digest12>/   one verified copy per version (.modeldao/origin.json inside)
// Wake-ups come from the server's event stream (GET /api/events), with polling of the chain as the
// fallback and safety net; every decision is taken from the registry on chain, never from an event.
// Bytes reach a version directory only through pull(), which verifies them against the chain.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { connectChain, type ChainConnection, type ChainOptions } from './chain.ts';
import { ModelDaoError } from './errors.ts';
import { streamEvents } from './events.ts';
import { pull, defaultGateways, type Origin, type PullOptions } from './pull.ts';
import { resolveApproved, type ApprovedVersion } from './resolve.ts';

export interface WatchOptions extends ChainOptions {
  slug: string;
  /** The directory to keep current: a symlink watch() owns (created if missing). */
  out: string;
  gateways?: string[];
  cacheDir?: string;
  account?: PullOptions['account'];
  accessToken?: string;
  /** Follow GET /api/events (default true); polling alone otherwise. */
  events?: boolean;
  /** Server whose event stream to follow (default the first gateway). */
  eventsUrl?: string;
  /** Chain poll interval while the event stream is down (default 2000 ms) and as a safety net while it is up (default 30 s). */
  pollMs?: number;
  safetyPollMs?: number;
  signal?: AbortSignal;
  onNotice?: (message: string) => void;
}

export type WatchUpdate =
  | { kind: 'version'; slug: string; version: number; manifestDigest: string; dir: string; previousVersion: number | null; reason: string }
  | { kind: 'revoked'; slug: string; version: number; manifestDigest: string; dir: null; previousVersion: number; reason: string };

interface Running {
  version: number;
  manifestDigest: string;
  target: string;
}

function readRunning(out: string): Running | null {
  let target: string;
  try {
    target = fs.readlinkSync(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') {
      throw new ModelDaoError('usage', 'out_not_symlink', `${out} exists and is not a symlink: watch keeps DIR as a symlink it swaps; pass a new path`);
    }
    throw err;
  }
  const abs = path.resolve(path.dirname(out), target);
  try {
    const o = JSON.parse(fs.readFileSync(path.join(abs, '.modeldao', 'origin.json'), 'utf8')) as Origin;
    return { version: o.version, manifestDigest: o.manifestDigest, target: abs };
  } catch {
    return { version: 0, manifestDigest: '', target: abs };
  }
}

/** Points `out` at `target` atomically: a new symlink renamed over the old one. */
async function swapLink(out: string, target: string): Promise<void> {
  const tmp = `${out}.swap-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  await fsp.symlink(path.relative(path.dirname(out), target), tmp);
  try {
    await fsp.rename(tmp, out);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

function versionDir(out: string, a: { version: number; manifestDigest: string }): string {
  return path.join(`${out}.versions`, `v${a.version}-${a.manifestDigest.replace(/^0x/, '').slice(0, 12)}`);
}

function isComplete(dir: string, digest: string): boolean {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(dir, '.modeldao', 'origin.json'), 'utf8')) as Origin;
    return o.manifestDigest === digest;
  } catch {
    return false;
  }
}

/** What the chain says now: the current version (or why there is none) and the status of the running one. */
async function readChain(chain: ChainConnection, slug: string, running: Running | null) {
  let approved: ApprovedVersion | null = null;
  let noneReason = '';
  try {
    approved = await resolveApproved({ chain, slug });
  } catch (err) {
    if (!(err instanceof ModelDaoError) || (err.code !== 'no_current_version' && err.code !== 'version_revoked')) throw err;
    noneReason = err.message;
  }
  let runningRevoked: string | null = null;
  if (running && running.version > 0 && approved?.version !== running.version) {
    try {
      const r = await resolveApproved({ chain, slug, version: running.version });
      if (r.manifestDigest !== running.manifestDigest) runningRevoked = `version ${running.version} on chain has another manifest (${r.manifestDigest})`;
    } catch (err) {
      if (err instanceof ModelDaoError && err.code === 'version_revoked') runningRevoked = err.message;
      else if (err instanceof ModelDaoError && err.code === 'unknown_version')
        runningRevoked = err.message; // reorged away
      else throw err;
    }
  }
  return { approved, noneReason, runningRevoked };
}

/**
 * Follows the approved version of `slug`: yields after `out` was switched to a newly approved,
 * verified version, and after a revoked running version was removed. Ends when `signal` aborts.
 * Transient trouble (RPC, gateway, event stream) is retried; a gateway that serves wrong bytes
 * never gets them into `out`.
 */
export async function* watch(opts: WatchOptions): AsyncGenerator<WatchUpdate> {
  const out = path.resolve(opts.out);
  const notice = opts.onNotice ?? (() => {});
  const gateways = opts.gateways && opts.gateways.length > 0 ? opts.gateways : defaultGateways();
  const pollMs = opts.pollMs ?? 2000;
  const safetyPollMs = opts.safetyPollMs ?? 30_000;
  readRunning(out); // fails early on a DIR that is not ours
  await fsp.mkdir(path.dirname(out), { recursive: true });
  await fsp.mkdir(`${out}.versions`, { recursive: true });
  const chain = await connectChain(opts);

  // wake-ups: events, timers, abort
  let wake: (() => void) | null = null;
  let woken = true;
  const poke = () => {
    woken = true;
    wake?.();
  };
  opts.signal?.addEventListener('abort', poke, { once: true });
  let streamUp = false;
  const internal = new AbortController();
  const stopStream = () => internal.abort();
  opts.signal?.addEventListener('abort', stopStream, { once: true });

  const follow = async () => {
    let lastEventId: string | undefined;
    let delay = 500;
    while (!internal.signal.aborted) {
      try {
        for await (const e of streamEvents({
          gateway: opts.eventsUrl ?? gateways[0]!, // never empty: opts.gateways when non-empty, else defaultGateways()
          models: [opts.slug],
          kinds: ['version', 'access.changed'],
          lastEventId,
          signal: internal.signal,
          onOpen: () => {
            streamUp = true;
            delay = 500;
            poke(); // anything missed while disconnected is re-read from the chain
          },
        })) {
          if (e.id) lastEventId = e.id;
          poke();
        }
      } catch (err) {
        if (internal.signal.aborted) break;
        if (streamUp) notice(`event stream lost (${err instanceof Error ? err.message : String(err)}); polling the chain every ${pollMs} ms until it is back`);
      }
      if (internal.signal.aborted) break;
      if (streamUp) {
        // the loop below may be asleep for safetyPollMs (the stream was up): wake it, so it reads the
        // chain now and every pollMs from here on, as the notice says
        streamUp = false;
        poke();
      }
      // reconnect with backoff, at most 3–6 s apart: one cheap request each, and the switch back to the
      // stream (and off chain polling) should not wait long once the server is back
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 3_000);
    }
  };
  const streaming = opts.events === false ? Promise.resolve() : follow();

  let failures = 0;
  let first = true;
  try {
    while (!opts.signal?.aborted) {
      if (!woken) {
        await new Promise<void>((resolve) => {
          const ms = failures > 0 ? Math.min(30_000, pollMs * 2 ** Math.min(failures, 4)) : streamUp ? safetyPollMs : pollMs;
          const t = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
      woken = false;
      if (opts.signal?.aborted) break;
      let update: WatchUpdate | null;
      try {
        update = await step();
        failures = 0;
      } catch (err) {
        if (err instanceof ModelDaoError && (err.kind === 'usage' || err.code === 'unknown_model')) throw err;
        failures++;
        notice(`${err instanceof Error ? err.message : String(err)} — retrying`);
        continue;
      }
      if (update) yield update;
    }
  } finally {
    internal.abort();
    await streaming.catch(() => {});
  }

  async function step(): Promise<WatchUpdate | null> {
    const wasFirst = first;
    first = false;
    return doStep(wasFirst);
  }
  async function doStep(first: boolean): Promise<WatchUpdate | null> {
    const running = readRunning(out);
    const { approved, noneReason, runningRevoked } = await readChain(chain, opts.slug, running);
    if (approved && (!running || running.manifestDigest !== approved.manifestDigest || running.version !== approved.version)) {
      const dir = versionDir(out, approved);
      if (!isComplete(dir, approved.manifestDigest)) {
        const tmp = `${dir}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
        try {
          await pull({
            chain,
            slug: opts.slug,
            version: approved.version,
            out: tmp,
            gateways,
            cacheDir: opts.cacheDir,
            account: opts.account,
            accessToken: opts.accessToken,
            onNotice: notice,
          });
          await fsp.rm(dir, { recursive: true, force: true });
          await fsp.rename(tmp, dir);
        } finally {
          await fsp.rm(tmp, { recursive: true, force: true });
        }
      }
      await swapLink(out, dir);
      if (running && running.target !== dir) await fsp.rm(running.target, { recursive: true, force: true });
      const why = runningRevoked
        ? `version ${running!.version} was revoked; version ${approved.version} is now approved`
        : `version ${approved.version} is now the approved version`;
      return {
        kind: 'version',
        slug: opts.slug,
        version: approved.version,
        manifestDigest: approved.manifestDigest,
        dir,
        previousVersion: running?.version ?? null,
        reason: why,
      };
    }
    if (!approved && running && runningRevoked) {
      await fsp.rm(out, { force: true });
      await fsp.rm(running.target, { recursive: true, force: true });
      return {
        kind: 'revoked',
        slug: opts.slug,
        version: running.version,
        manifestDigest: running.manifestDigest,
        dir: null,
        previousVersion: running.version,
        reason: runningRevoked,
      };
    }
    if (!approved && !running) notice(`${noneReason}; waiting`);
    if (first && approved && running) notice(`${opts.slug} v${approved.version} (${approved.manifestDigest}) is already live in ${out}; watching for changes`);
    return null;
  }
}
