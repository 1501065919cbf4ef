// npm run bench:bitswap [-- --size 256MiB --runs 3]
// One approved file of `size` bytes on the real server (its own process: `npm start` with
// SERVE_PAGES=0 and IPFS_LISTEN on a loopback port), uploaded through POST /api/uploads, published on
// a local anvil, indexed. In the same run, alternating order, each measured `runs` times:
//  - GET /api/blobs/{sha256}, its sha256 while streaming (the reference), and
//  - GET /ipfs/{cid}?format=car&dag-scope=all from our trustless gateway, verified from the root CID,
//    both read as the SDK reads (scripts/bench/gateway-reads.ts);
//  - bitswap: a second Helia node (fresh each run: nothing cached; TCP, noise, yamux, no routing)
//    dials the server's node by the multiaddr /api/health announces and reads the file by CID
//    (@helia/unixfs cat: the DAG walked from the root CID, every block verified against its CID);
//  - libp2p: the transport's ceiling, one raw stream of `size` bytes over TCP, noise, yamux from a
//    second process (scripts/bench/libp2p-ceiling.ts), no bitswap: what bitswap could reach at most.
// Medians; CPU seconds per GiB of the server (per method) and of the bitswap client. Last line: JSON (scripts/bench/harness.ts). BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof") goes to the server's node command line, to profile it. BENCH_CLIENT_PROF=<dir>
// writes a CPU profile of each bitswap fetch (client-<pid>-<n>.cpuprofile): this process from the
// dial to the last verified byte only, without the other methods' readers that share the process.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CID } from 'multiformats/cid';
import { privateKeyToAccount } from 'viem/accounts';
import { startAnvil, deployContracts, repoRoot, freePort, advanceTime, DEV_ACCOUNTS } from '../lib/devchain/anvil.ts';
import { Governance } from '../lib/devchain/governance.ts';
import { uploadAuthHeaders, uploadFile } from '../lib/sdk/upload.ts';
import { installNode20Polyfills } from '../lib/ipfs/polyfills.ts';
import { offlineHeliaOptions, offlineLibp2pOptions } from '../lib/ipfs/node.ts';
import { makeVersion, publish } from '../tests/helpers/consumer.ts';
import { median, runBench } from './bench/harness.ts';
import { parseSize, processCpuSeconds, writeRandomFile } from './bench/tools.ts';
import { viaBlobs, viaCar } from './bench/gateway-reads.ts';
import { readCeiling, startCeilingSender } from './bench/libp2p-ceiling.ts';

installNode20Polyfills();
const { values } = parseArgs({ options: { size: { type: 'string', default: '256MiB' }, runs: { type: 'string', default: '3' } } });
const size = parseSize(values.size!);
const runs = Math.max(1, Number(values.runs));
const MiB = 1024 * 1024;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-bench-bitswap-'));
const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(work, { recursive: true, force: true })];
const log = (s: string) => process.stderr.write(s + '\n');

/** CPU seconds (user+sys) of this process so far: the bitswap client and the ceiling's reader run in it. */
const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * A fresh Helia node (empty memory blockstore) dials `peer` and cats the file over bitswap; ms and
 * this process's CPU seconds, both from the dial on.
 */
async function viaBitswap(peer: string, cid: string, size: number, cpu: { client: number }): Promise<number> {
  const { createHelia } = await import('helia');
  const { unixfs } = await import('@helia/unixfs');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const helia = await createHelia({ ...offlineHeliaOptions(), libp2p: await offlineLibp2pOptions({ listen: [] }) } as never);
  await helia.start();
  let stopProfile: (() => Promise<void>) | undefined;
  try {
    await helia.libp2p.dial(multiaddr(peer));
    // timed from here: the transfer, not the client node's start and dial (≈ 0.1-0.5 s)
    if (process.env.BENCH_CLIENT_PROF) stopProfile = await startClientProfile(process.env.BENCH_CLIENT_PROF);
    const t0 = performance.now();
    const c0 = ownCpuSeconds();
    // verified by the client itself, from the root CID (as the CAR reader is; see gateway-reads.ts)
    let got = 0;
    for await (const c of unixfs(helia).cat(CID.parse(cid), { signal: AbortSignal.timeout(30 * 60_000) })) got += c.byteLength;
    if (got !== size) throw new Error(`bitswap: ${got} bytes, not ${size}`);
    cpu.client = ownCpuSeconds() - c0;
    return performance.now() - t0;
  } finally {
    await stopProfile?.();
    await helia.stop();
  }
}

let clientProfiles = 0;

/** Starts V8's sampling profiler in this process; the returned function writes the profile into `dir`. */
async function startClientProfile(dir: string): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = <T = unknown>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: unknown }>('Profiler.stop');
    session.disconnect();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `client-${process.pid}-${clientProfiles++}.cpuprofile`), JSON.stringify(profile));
  };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function main() {
  log(`bench:bitswap — ${(size / 1024 ** 3).toFixed(2)} GiB, ${runs} run(s) per method, alternating`);
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
    IPFS_LISTEN: `/ip4/127.0.0.1/tcp/${await freePort()}`,
    UPLOAD_MAX_BYTES: String(size + MiB),
    UPLOAD_QUOTA_BYTES: String(2 * size + MiB),
  };
  delete serverEnv.DATABASE_URL; // embedded PGlite, like a fresh clone
  const server = spawn(
    process.execPath,
    [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(repoRoot, 'lib', 'server', 'start.ts')],
    {
      cwd: repoRoot,
      env: serverEnv,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
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
  const gov = new Governance(anvil.rpcUrl, deployment);
  await gov.delegate(DEV_ACCOUNTS[0].privateKey);
  await advanceTime(anvil.rpcUrl, 2);
  const account = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey);
  const authHeaders = await uploadAuthHeaders({ account, chainId: deployment.chainId, registry: deployment.contracts.ModelRegistry, gateway: gw });
  const up = await uploadFile({ gateway: gw, file: src, authHeaders });
  if (up.sha256 !== sha256) throw new Error('upload hash differs');
  const canonicalize = (await import('canonicalize')).default;
  const v = makeVersion('bench-bitswap', {});
  Object.assign(v.manifest, { files: [{ path: 'weights.bin', size: up.size, sha256: up.sha256, cid: up.cid }] });
  v.manifestBytes = Buffer.from(canonicalize(v.manifest) as string);
  v.digest = `0x${crypto.createHash('sha256').update(v.manifestBytes).digest('hex')}`;
  const posted = await fetch(`${gw}/api/manifests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders },
    body: new Uint8Array(v.manifestBytes),
  });
  if (!posted.ok) throw new Error(`POST /api/manifests: ${posted.status} ${await posted.text()}`);
  await publish({ ...anvil, deployment, deploymentFile } as never, 'bench-bitswap', v);
  for (let i = 0; ; i++) {
    const r = await fetch(`${gw}/ipfs/${up.cid}?format=raw`, { method: 'HEAD' });
    if (r.ok) break;
    if (i > 600) throw new Error(`root block not served after publication: ${r.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  fs.rmSync(src);

  const health = (await (await fetch(`${gw}/api/health`)).json()) as { ipfs: { enabled: boolean; announce: string[] } };
  if (!health.ipfs.enabled) throw new Error('the server started without its IPFS node');
  const peer = health.ipfs.announce[0]!;
  log(`server's IPFS node: ${peer}`);
  const ceiling = await startCeilingSender(size);
  cleanups.push(() => ceiling.stop());
  const bitswapCpu = { client: 0 };
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
    bitswap: () => viaBitswap(peer, up.cid, size, bitswapCpu),
    libp2p: () => readCeiling(ceiling.addr, size),
  };
  // warm-up (page cache, JIT, CLI start), then the RSS baseline
  for (const m of Object.values(methods)) await m();
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
  // CPU seconds per GiB moved, the load-independent cost: the server process during each method
  // (it also polls its indexer every 200 ms: a small share that grows with wall time), and the
  // bitswap client (this process, from the dial to the last verified byte)
  const gib = size / 1024 ** 3;
  const serverCpu: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const clientCpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const k of order) {
      const s0 = processCpuSeconds(server.pid!);
      times[k]!.push(await methods[k]!());
      serverCpu[k]!.push((processCpuSeconds(server.pid!) - s0) / gib);
      if (k === 'bitswap') clientCpu.push(bitswapCpu.client / gib);
    }
    log(`run ${i + 1}: ${names.map((k) => `${k} ${(times[k]![i]! / 1000).toFixed(2)} s`).join(' · ')}`);
    log(`  CPU s/GiB: server ${names.map((k) => `${k} ${serverCpu[k]![i]!.toFixed(2)}`).join(' · ')}; bitswap client ${clientCpu[i]!.toFixed(2)}`);
  }
  clearInterval(sampler);
  const mibps = (ms: number) => +(size / MiB / (ms / 1000)).toFixed(1);
  const med = Object.fromEntries(names.map((k) => [k, median(times[k]!)])) as Record<string, number>;
  const carRatio = med.blobs! / med.car!;
  const bitswapRatio = med.blobs! / med.bitswap!;
  const ceilingRatio = med.blobs! / med.libp2p!;
  const rssGrowth = (peak - baseline) / MiB;
  return {
    size_bytes: size,
    runs,
    api_blobs_mib_per_s: mibps(med.blobs!),
    gateway_car_mib_per_s: mibps(med.car!),
    bitswap_mib_per_s: mibps(med.bitswap!),
    // ratios: throughput of the IPFS path over /api/blobs (the reference); >1 would mean faster than /api/blobs
    bitswap_over_api_blobs_ratio: +bitswapRatio.toFixed(3),
    gateway_car_over_api_blobs_ratio: +carRatio.toFixed(3),
    // the transport's own limit, same run: one raw libp2p stream (TCP, noise, yamux) between two processes
    libp2p_ceiling_mib_per_s: mibps(med.libp2p!),
    libp2p_ceiling_over_api_blobs_ratio: +ceilingRatio.toFixed(3),
    bitswap_over_libp2p_ceiling_ratio: +(med.libp2p! / med.bitswap!).toFixed(3),
    goal_reachable_by_transport: ceilingRatio >= 0.25,
    // CPU seconds (user+sys) per GiB, medians: the server process per method, the bitswap client
    server_cpu_s_per_gib: Object.fromEntries(names.map((k) => [k, +median(serverCpu[k]!).toFixed(2)])),
    bitswap_client_cpu_s_per_gib: +median(clientCpu).toFixed(2),
    server_rss_baseline_mib: +(baseline / MiB).toFixed(1),
    server_rss_growth_mib: +rssGrowth.toFixed(1),
    all_runs_s: Object.fromEntries(names.map((k) => [k, times[k]!.map((t) => +(t / 1000).toFixed(3))])),
    all_runs_server_cpu_s_per_gib: Object.fromEntries(names.map((k) => [k, serverCpu[k]!.map((c) => +c.toFixed(2))])),
    all_runs_bitswap_client_cpu_s_per_gib: clientCpu.map((c) => +c.toFixed(2)),
    goal: 'bitswap from the embedded node (second Helia node, loopback) >= 0.25x the /api/blobs throughput, same file, same run',
    goal_met: bitswapRatio >= 0.25,
    cores: os.cpus().length,
    load_avg_1m: +os.loadavg()[0]!.toFixed(2),
  };
}

// The shared skeleton (scripts/bench/harness.ts): cleanup on error and Ctrl-C, the result line.
await runBench('bitswap', async ({ defer }) => {
  defer(async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });
  return main();
});
