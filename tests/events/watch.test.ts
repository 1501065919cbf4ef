// `modeldao watch` as a consumer runs it (the CLI, spawned), against anvil, the real server's event
// stream and a fixture gateway for the bytes (honest or lying): a version executed by governance is
// live in DIR within 10 s of its block; a guardian revoke removes it and runs the hook with the
// reason; a lying gateway never gets its bytes into DIR; a restart does not download again; with
// the event stream gone it falls back to polling the chain.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, encodeFunctionData, http as viemHttp } from 'viem';
import { modelRegistryAbi } from '../../lib/contracts/generated.ts';
import { advanceTime } from '../../lib/devchain/anvil.ts';
import { Governance, Support } from '../../lib/devchain/governance.ts';
import type { RunningServer } from '../../lib/server/main.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import {
  asGuardian,
  asTimelock,
  makeVersion,
  modelIdOf,
  publish,
  sha256,
  startGateway,
  startTestChain,
  tmpDir,
  type Gateway,
  type ModelVersionFiles,
  type TestChain,
} from '../consumer/fixtures.ts';
import { serverOn, waitFor } from './helpers.ts';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'cli', 'modeldao.mjs');
let chain: TestChain;
let server: RunningServer;
let gateway: Gateway;
let work: string;
let out: string;
let hookLog: string;
let watcher: { child: ChildProcess; stderr: () => string } | null = null;

function startWatch(extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'watch',
      'watch-lm',
      '--out',
      out,
      '--exec',
      `echo "$MODELDAO_EVENT $MODELDAO_VERSION $MODELDAO_MANIFEST_DIGEST $MODELDAO_REASON" >> ${hookLog}`,
      '--rpc',
      chain.rpcUrl,
      '--deployment',
      chain.deploymentFile,
      '--gateway',
      gateway.url,
      '--events',
      server.url,
      '--poll-ms',
      '500',
      ...extra,
    ],
    { cwd: work, env: { ...process.env, MODELDAO_CACHE: path.join(work, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  watcher = { child, stderr: () => stderr };
  return watcher;
}

async function stopWatch(): Promise<number | null> {
  const w = watcher;
  watcher = null;
  if (!w || w.child.exitCode !== null) return w?.child.exitCode ?? null;
  const exited = new Promise<number | null>((r) => w.child.once('exit', (code) => r(code)));
  w.child.kill('SIGTERM');
  return exited;
}

function live(): { version: number; manifestDigest: string } | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(out, '.modeldao', 'origin.json'), 'utf8'));
  } catch {
    return null;
  }
}

function hooks(): string[] {
  return fs.existsSync(hookLog) ? fs.readFileSync(hookLog, 'utf8').trim().split('\n').filter(Boolean) : [];
}

function expectBytes(v: ModelVersionFiles) {
  for (const f of v.manifest.files as { path: string; sha256: string }[]) expect(sha256(fs.readFileSync(path.join(out, f.path)))).toBe(f.sha256);
}

const v1 = makeVersion('watch-lm', { 'model.bin': 200_000, 'config.json': Buffer.from('{"v":1}') });
const v2 = makeVersion('watch-lm', { 'model.bin': 300_000, 'config.json': Buffer.from('{"v":2}') }, { parent: `sha256:${v1.digest.slice(2)}` });
const v3 = makeVersion('watch-lm', { 'model.bin': 250_000, 'config.json': Buffer.from('{"v":3}') });
const v4 = makeVersion('watch-lm', { 'model.bin': 150_000, 'config.json': Buffer.from('{"v":4}') });

beforeAll(async () => {
  work = tmpDir('modeldao-watch-');
  out = path.join(work, 'deploy', 'model');
  hookLog = path.join(work, 'hook.log');
  chain = await startTestChain();
  server = await serverOn(chain, path.join(work, 'data'));
  gateway = await startGateway([v1, v2, v3, v4]);
  const gov = new Governance(chain.rpcUrl, chain.deployment);
  for (const a of DEV_ACCOUNTS.slice(0, 2)) await gov.delegate(a.privateKey);
  await publish(chain, 'watch-lm', v1);
  await server.waitForIndex();
}, 180_000);

afterAll(async () => {
  await stopWatch();
  await gateway?.close();
  await server?.close();
  await chain?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('modeldao watch', () => {
  it('puts the approved version in DIR at start, then a version executed by governance is live within 10 s of its block', async () => {
    startWatch();
    await waitFor(() => live()?.version === 1, 'v1 in DIR', 60_000).catch((e) => {
      console.error('STDERR', watcher?.stderr(), watcher?.child.exitCode);
      throw e;
    });
    expect(fs.lstatSync(out).isSymbolicLink()).toBe(true);
    expectBytes(v1);
    await waitFor(() => hooks().length === 1, 'the hook for v1');
    expect(hooks()[0]).toBe(`update 1 ${v1.digest} version 1 is now the approved version`);

    const gov = new Governance(chain.rpcUrl, chain.deployment);
    const modelId = await modelIdOf(chain, 'watch-lm');
    const actions = [
      {
        target: chain.deployment.contracts.ModelRegistry,
        data: encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [modelId, v2.digest, 1] }),
      },
    ];
    // ERC-6372 timestamp clock: propose() counts the proposer's votes at clock() - 1, so at least one
    // second must separate it from the delegation in beforeAll (which can be < 1 s ago here)
    await advanceTime(chain.rpcUrl, 1);
    const { executeTx } = await gov.passProposal({
      proposer: DEV_ACCOUNTS[0].privateKey,
      actions,
      description: 'Publish watch-lm v2',
      votes: [
        { key: DEV_ACCOUNTS[0].privateKey, support: Support.For },
        { key: DEV_ACCOUNTS[1].privateKey, support: Support.For },
      ],
    });
    const client = createPublicClient({ transport: viemHttp(chain.rpcUrl), pollingInterval: 50 });
    await client.waitForTransactionReceipt({ hash: executeTx });
    const blockSeenAt = Date.now();
    await waitFor(() => live()?.version === 2, 'v2 in DIR', 10_000);
    const latency = Date.now() - blockSeenAt;
    expect(latency).toBeLessThan(10_000);
    expectBytes(v2);
    await waitFor(() => hooks().length === 2, 'the hook for v2');
    expect(hooks()[1]).toMatch(new RegExp(`^update 2 ${v2.digest} `));
    // the previous version's copy is gone; only v2's directory remains
    expect(fs.readdirSync(`${out}.versions`)).toEqual([`v2-${v2.digest.slice(2, 14)}`]);
  }, 120_000);

  it('a guardian revoke of the running version removes it from DIR and runs the hook with the reason', async () => {
    await asGuardian(chain, 'revokeVersion', [await modelIdOf(chain, 'watch-lm'), 2]);
    await waitFor(() => !fs.existsSync(out) && hooks().length === 3, 'removal and hook', 10_000);
    expect(hooks()[2]).toMatch(new RegExp(`^revoked 2 ${v2.digest} .*revoked`));
    expect(fs.readdirSync(`${out}.versions`)).toEqual([]);
  }, 60_000);

  it('a lying gateway never gets its bytes into DIR; the honest copy goes live once it serves the truth', async () => {
    gateway.setHostility({ kind: 'flip' });
    const before = watcher!.stderr().length;
    await asTimelock(chain, 'publishVersion', [await modelIdOf(chain, 'watch-lm'), v3.digest, 1]);
    await waitFor(() => /wrong bytes|no gateway delivered verified bytes/.test(watcher!.stderr().slice(before)), 'the integrity failure', 20_000).catch((e) => {
      console.error('STDERR', watcher?.stderr());
      throw e;
    });
    expect(fs.existsSync(out)).toBe(false);
    for (const d of fs.readdirSync(`${out}.versions`)) expect(d).toMatch(/\.partial-/); // never a finished copy
    expect(hooks()).toHaveLength(3);
    gateway.setHostility({ kind: 'honest' });
    await waitFor(() => live()?.version === 3, 'v3 from the honest gateway', 30_000);
    expectBytes(v3);
    expect(fs.readdirSync(`${out}.versions`)).toEqual([`v3-${v3.digest.slice(2, 14)}`]);
  }, 60_000);

  it('restarts without downloading again and without running the hook for what is already live', async () => {
    expect(await stopWatch()).toBe(0);
    const requests = gateway.requests.length;
    const w = startWatch();
    const cycles = hooks().length;
    // its first look at the chain found v3 live and said so
    await waitFor(() => /already live/.test(w.stderr()), 'the watcher to check what is live', 30_000);
    expect(w.stderr()).toContain(`watch-lm v3 (${v3.digest}) is already live`);
    expect(gateway.requests.slice(requests)).toEqual([]);
    expect(hooks()).toHaveLength(cycles);
    expect(live()?.version).toBe(3);
  }, 60_000);

  it('without the event stream it falls back to polling the chain, and follows the stream again when it is back', async () => {
    const dataDir = path.join(work, 'data');
    await server.close();
    await asTimelock(chain, 'publishVersion', [await modelIdOf(chain, 'watch-lm'), v4.digest, 3]);
    // the watcher polls the chain (--poll-ms 500) as soon as the stream is lost, not after the 30 s
    // safety poll it sleeps in while the stream is up: 15 s is generous for a poll and a pull
    await waitFor(() => live()?.version === 4, 'v4 through polling', 15_000);
    expectBytes(v4);
    server = await serverOn(chain, dataDir, { PORT: String(new URL(server.url).port) });
    await server.waitForIndex();
    // stream reconnects are at most 3–6 s apart
    await waitFor(() => server.events.clientCount === 1, 'the watcher back on the stream', 20_000);
    await asTimelock(chain, 'setCurrentVersion', [await modelIdOf(chain, 'watch-lm'), 3]);
    // the stream is back (the chain poll is every 30 s while it is up): the switch comes from an event
    await waitFor(() => live()?.version === 3 && /^update 3 /.test(hooks().at(-1) ?? ''), 'back to v3 and the hook', 10_000);
  }, 150_000);
});
