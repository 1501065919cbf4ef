// npm run bench:ipfs [-- --size 1GiB --runs 3 [--only blobs,car,car_sha256,raw,pull_gateway,pull_ipfs]]
// One approved file of `size` bytes on the real server (its own process: `npm start` with
// SERVE_PAGES=0, so its RSS is measured alone), uploaded through POST /api/uploads, published on a
// local anvil, indexed. In the same run, alternating order, each measured `runs` times, every path
// read the way the SDK reads it and verified by the identifier it is addressed by
// (scripts/bench/gateway-reads.ts):
//  - GET /api/blobs/{sha256}, its sha256 while streaming (the reference);
//  - GET /ipfs/{cid}?format=car&dag-scope=all, verified from the root CID: every block the next one
//    of the DAG's walk and hashing to its CID, the leaves adding up to the file's size;
//  - (diagnostic) the same CAR also hashed into the file's sha256, as `pull --ipfs-gateway` does;
//  - parallel raw blocks (GET /ipfs/{leaf}?format=raw, 16 at a time, each verified; the SDK's
//    IpfsGatewayPool) — the DAG's nodes first;
//  - `modeldao pull --ipfs-gateway` against `modeldao pull --gateway` (the CLI, cold cache each; the
//    IPFS pull checks every block against its CID and the file against its sha256).
// Server RSS is sampled every 50 ms; growth = peak − RSS after the warm-up. Medians. Last line: JSON.
// CPU seconds per GiB of each method, server and client apart (the machine is shared: CPU time is
// steadier than wall time): the server's from /proc/<pid>/stat, the in-process clients' from
// process.cpuUsage(), the pulls' from this process's reaped children.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import { startAnvil, deployContracts, repoRoot, freePort } from '../lib/devchain/anvil.ts';
import { IpfsGatewayPool } from '../lib/sdk/ipfs.ts';
import { uploadAndPublish } from '../tests/helpers/consumer.ts';
import { median, runBench } from './bench/harness.ts';
import { parseSize, writeRandomFile } from './bench/tools.ts';
import { viaBlobs, viaCar } from './bench/gateway-reads.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '1GiB' }, runs: { type: 'string', default: '3' }, only: { type: 'string' } } });
const size = parseSize(values.size!);
const runs = Math.max(1, Number(values.runs));
const MiB = 1024 * 1024;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-ipfs-'));
const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(work, { recursive: true, force: true })];
const log = (s: string) => process.stderr.write(s + '\n');

/**
 * The file as raw blocks (the SDK's IpfsGatewayPool: rawGet on kept connections, every block checked
 * against its CID): the DAG's nodes first (walked from the root CID, as a trustless client does), then
 * the leaves `concurrency` at a time, which must add up to `size`. Each leaf's buffer is given back
 * to the pool once checked (pool.release), as `pull --ipfs-gateway` does once it has written it.
 */
async function viaRawBlocks(gw: string, cid: string, size: number, concurrency = 16): Promise<void> {
  const pool = new IpfsGatewayPool({ gateways: [gw] });
  const leaves: CID[] = [];
  const walk = async (c: CID): Promise<void> => {
    if (c.code === 0x55) return void leaves.push(c);
    const node = dagPb.decode(await pool.fetchBlock(c));
    void UnixFS.unmarshal(node.Data!);
    for (const l of node.Links) await walk(l.Hash);
  };
  await walk(CID.parse(cid));
  let got = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < leaves.length) {
        const bytes = await pool.fetchBlock(leaves[next++]!);
        got += bytes.byteLength;
        pool.release(bytes);
      }
    }),
  );
  if (pool.dropped.length > 0) throw new Error(`raw blocks: ${pool.dropped[0]!.message}`);
  if (got !== size) throw new Error(`raw blocks: leaves make ${got} bytes, not ${size}`);
}

/** CPU seconds (user + system) of this process's reaped children so far (Linux: /proc/self/stat cutime, cstime). */
function childCpuSeconds(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime in clock ticks (USER_HZ = 100)
}

/** CPU seconds (user + system) of process `pid` so far (Linux: /proc/<pid>/stat utime, stime). */
function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds of this process (user + system). */
function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds of each pull (the machine is shared: CPU time is steadier than wall time). */
const pullCpu: Record<string, number[]> = { pull_gateway: [], pull_ipfs: [] };

function run(cmd: string, args: string[], cpu?: number[]): Promise<number> {
  const t0 = performance.now();
  const c0 = childCpuSeconds();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args.join(' ')}: exit ${code}: ${err.slice(-1500)}`));
      // 'exit' comes after libuv reaped the child, so its CPU is in cutime/cstime now
      cpu?.push(childCpuSeconds() - c0);
      resolve(performance.now() - t0);
    });
  });
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function main() {
  log(`bench:ipfs — ${(size / 1024 ** 3).toFixed(2)} GiB, ${runs} run(s) per method, alternating`);
  const src = path.join(work, 'weights.bin');
  const sha256 = writeRandomFile(src, size);
  const anvil = await startAnvil();
  cleanups.push(() => anvil.stop());
  const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl, { deploymentFile: path.join(work, 'deployment.json') });
  const port = await freePort();
  const serverEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    SERVE_PAGES: '0',
    HOST: '127.0.0.1',
    PORT: String(port),
    RPC_URL: anvil.rpcUrl,
    DEPLOYMENT_FILE: deploymentFile,
    MODELDAO_DATA_DIR: path.join(work, 'data'),
    INDEXER_POLL_MS: '200',
    UPLOAD_MAX_BYTES: String(size + MiB),
    UPLOAD_QUOTA_BYTES: String(2 * size + MiB),
  };
  delete serverEnv.DATABASE_URL; // embedded PGlite, like a fresh clone
  // BENCH_SERVER_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops
  const prof = process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_SERVER_CPU_PROF)] : [];
  const server = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(repoRoot, 'lib', 'server', 'start.ts')], {
    cwd: repoRoot,
    env: serverEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        if (server.exitCode !== null) return r();
        server.once('exit', () => r());
        server.kill('SIGTERM');
      }),
  );
  const gw = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${gw}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (server.exitCode !== null || i > 1200) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const { files } = await uploadAndPublish({
    chain: { ...anvil, deployment, deploymentFile },
    gateway: gw,
    slug: 'bench-ipfs',
    files: [{ path: 'weights.bin', file: src }],
  });
  const up = files[0]!;
  if (up.sha256 !== sha256) throw new Error('upload hash differs');
  for (let i = 0; ; i++) {
    const r = await fetch(`${gw}/ipfs/${up.cid}?format=raw`, { method: 'HEAD' });
    if (r.ok) break;
    if (i > 600) throw new Error(`root block not served after publication: ${r.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  fs.rmSync(src);

  const cli = path.join(repoRoot, 'lib', 'cli', 'modeldao.mjs');
  // BENCH_PULL_CPU_PROF=<dir>: every pull writes a V8 CPU profile there
  const pullProf = process.env.BENCH_PULL_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_PULL_CPU_PROF)] : [];
  const pullArgs = (cache: string, how: string[]) => [
    ...pullProf,
    cli,
    'pull',
    'bench-ipfs',
    '--rpc',
    anvil.rpcUrl,
    '--deployment',
    deploymentFile,
    '--cache',
    cache,
    '--quiet',
    ...how,
  ];
  const methods: Record<string, () => Promise<number>> = {
    blobs: async () => {
      const t0 = performance.now();
      await viaBlobs(gw, sha256);
      return performance.now() - t0;
    },
    car: async () => {
      const t0 = performance.now();
      await viaCar(gw, up.cid, size);
      return performance.now() - t0;
    },
    // diagnostic, not in the goal: the CAR also hashed into the file's sha256 (on the worker thread), as
    // `pull --ipfs-gateway` checks it on top of the CIDs
    car_sha256: async () => {
      const t0 = performance.now();
      await viaCar(gw, up.cid, size, sha256);
      return performance.now() - t0;
    },
    raw: async () => {
      const t0 = performance.now();
      await viaRawBlocks(gw, up.cid, size);
      return performance.now() - t0;
    },
    pull_gateway: async () => {
      const cache = path.join(work, `c-${crypto.randomUUID()}`);
      const ms = await run(process.execPath, pullArgs(cache, ['--gateway', gw]), pullCpu.pull_gateway);
      fs.rmSync(cache, { recursive: true, force: true });
      return ms;
    },
    pull_ipfs: async () => {
      const cache = path.join(work, `c-${crypto.randomUUID()}`);
      const ms = await run(process.execPath, pullArgs(cache, ['--ipfs-gateway', gw]), pullCpu.pull_ipfs);
      fs.rmSync(cache, { recursive: true, force: true });
      return ms;
    },
  };
  // --only car,raw: just those methods (to profile one; the ratios then come out null)
  if (values.only) {
    const only = new Set(values.only.split(','));
    for (const k of Object.keys(methods)) if (!only.has(k)) delete methods[k];
  }
  // warm-up (page cache, JIT, CLI start), then the RSS baseline
  for (const m of Object.values(methods)) await m();
  for (const k of Object.keys(pullCpu)) pullCpu[k]!.length = 0; // the warm-up does not count
  const baseline = rssOf(server.pid!);
  let peak = baseline;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(server.pid!));
    } catch {
      /* exited */
    }
  }, 50);
  cleanups.push(() => clearInterval(sampler));
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(methods).map((k) => [k, []]));
  const names = Object.keys(methods);
  const serverCpu: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const clientCpu: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const gib = size / 1024 ** 3;
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const k of order) {
      const s0 = processCpuSeconds(server.pid!);
      const c0 = k in pullCpu ? 0 : ownCpuSeconds();
      times[k]!.push(await methods[k]!());
      serverCpu[k]!.push((processCpuSeconds(server.pid!) - s0) / gib);
      clientCpu[k]!.push(k in pullCpu ? pullCpu[k]!.at(-1)! / gib : (ownCpuSeconds() - c0) / gib);
    }
    log(`run ${i + 1}: ${names.map((k) => `${k} ${(times[k]![i]! / 1000).toFixed(2)} s`).join(' · ')}`);
    log(`  CPU s/GiB server/client: ${names.map((k) => `${k} ${serverCpu[k]![i]!.toFixed(2)}/${clientCpu[k]![i]!.toFixed(2)}`).join(' · ')}`);
  }
  clearInterval(sampler);
  const mibps = (ms: number) => +(size / MiB / (ms / 1000)).toFixed(1);
  const med = Object.fromEntries(names.map((k) => [k, median(times[k]!)])) as Record<string, number>;
  const carRatio = med.blobs! / med.car!;
  const rawRatio = med.blobs! / med.raw!;
  const pullRatio = med.pull_gateway! / med.pull_ipfs!;
  const rssGrowth = (peak - baseline) / MiB;
  return {
    bench: 'ipfs',
    size_bytes: size,
    runs,
    api_blobs_mib_per_s: mibps(med.blobs!),
    car_dag_scope_all_mib_per_s: mibps(med.car!),
    raw_blocks_parallel16_mib_per_s: mibps(med.raw!),
    pull_gateway_median_s: +(med.pull_gateway! / 1000).toFixed(3),
    pull_ipfs_gateway_median_s: +(med.pull_ipfs! / 1000).toFixed(3),
    pull_gateway_cpu_median_s: pullCpu.pull_gateway!.length ? +median(pullCpu.pull_gateway!).toFixed(2) : null,
    pull_ipfs_gateway_cpu_median_s: pullCpu.pull_ipfs!.length ? +median(pullCpu.pull_ipfs!).toFixed(2) : null,
    car_over_api_blobs_ratio: +carRatio.toFixed(3),
    diagnostic_car_with_file_sha256_over_api_blobs_ratio: med.car_sha256 ? +(med.blobs! / med.car_sha256).toFixed(3) : null,
    raw_blocks_over_api_blobs_ratio: +rawRatio.toFixed(3),
    pull_ipfs_over_pull_gateway_ratio: +pullRatio.toFixed(3),
    server_rss_baseline_mib: +(baseline / MiB).toFixed(1),
    server_rss_growth_mib: +rssGrowth.toFixed(1),
    all_runs_s: Object.fromEntries(names.map((k) => [k, times[k]!.map((t) => +(t / 1000).toFixed(3))])),
    pull_cpu_all_runs_s: Object.fromEntries(Object.entries(pullCpu).map(([k, v]) => [k, v.map((c) => +c.toFixed(2))])),
    server_cpu_s_per_gib_median: Object.fromEntries(names.map((k) => [k, +median(serverCpu[k]!).toFixed(2)])),
    client_cpu_s_per_gib_median: Object.fromEntries(names.map((k) => [k, +median(clientCpu[k]!).toFixed(2)])),
    goal: 'CAR (dag-scope=all) >= 0.7x and parallel raw blocks >= 0.5x the /api/blobs throughput; pull --ipfs-gateway >= 0.7x pull --gateway (ratios: modeldao IPFS path over reference, >1 = IPFS faster); server RSS growth <= 128 MiB',
    goal_met: carRatio >= 0.7 && rawRatio >= 0.5 && pullRatio >= 0.7 && rssGrowth <= 128,
    cores: os.cpus().length,
    load_avg_1m: +os.loadavg()[0]!.toFixed(2),
  };
}

// The shared skeleton (scripts/bench/harness.ts): cleanup on error and Ctrl-C, the result line.
await runBench('ipfs', async ({ defer }) => {
  defer(async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });
  return main();
});
