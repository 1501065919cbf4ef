// Shared by bench:ingest, bench:serve and kill9-uploads: a local chain where dev account 0 may
// upload, and the real server (lib/server/start.ts, plain API only) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { advanceTime, DEV_ACCOUNTS, deployContracts, freePort, repoRoot, startAnvil, type Anvil } from '../../lib/devchain/anvil.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
import { signUploadAuthorization } from '../../lib/artifacts/upload-auth-format.ts';
import { entryArgs } from './entry-bundles.ts';

export interface UploadChain {
  anvil: Anvil;
  deployment: Deployment;
  deploymentFile: string;
  /** A fresh Authorization header for dev account 0 (valid 30 min). */
  /** An upload authorization for the server at `serverUrl` (its origin is the signed audience). */
  auth(serverUrl: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startUploadChain(): Promise<UploadChain> {
  const anvil = await startAnvil();
  try {
    const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl);
    await new Governance(anvil.rpcUrl, deployment).delegate(DEV_ACCOUNTS[0].privateKey);
    await advanceTime(anvil.rpcUrl, 2);
    const signer = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey as Hex);
    return {
      anvil,
      deployment,
      deploymentFile,
      auth: (serverUrl) =>
        signUploadAuthorization(signer, {
          account: signer.address,
          chainId: deployment.chainId,
          registry: deployment.contracts.ModelRegistry,
          audience: serverUrl,
        }),
      stop: async () => {
        await anvil.stop();
        fs.rmSync(path.dirname(deploymentFile), { recursive: true, force: true });
      },
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

export interface ServerProcess {
  pid: number;
  url: string;
  child: ChildProcess;
  /** resident set size of the server process, bytes (from /proc) */
  rss(): number;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export async function startServerProcess(o: {
  chain: UploadChain;
  dataDir: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** default: a free port */
  port?: number;
  /** how long the server may take to answer /api/health (default 120 s) */
  startTimeoutMs?: number;
}): Promise<ServerProcess> {
  // a port chosen here can still be taken by another process before the server listens: then, unless
  // the caller named the port, start again on another one
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerProcessOn(o, o.port ?? (await freePort()));
    } catch (err) {
      if (o.port !== undefined || attempt >= 3 || !(err instanceof PortTaken)) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startServerProcessOn(o: Parameters<typeof startServerProcess>[0], port: number): Promise<ServerProcess> {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL; // embedded PGlite in the data dir
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...entryArgs('lib/server/start.ts')], {
    cwd: repoRoot,
    env: {
      ...inherited,
      NODE_ENV: 'production',
      SERVE_PAGES: '0',
      PORT: String(port),
      HOST: '127.0.0.1',
      RPC_URL: o.chain.anvil.rpcUrl,
      DEPLOYMENT_FILE: o.chain.deploymentFile,
      CHAIN_ID: String(o.chain.deployment.chainId),
      MODELDAO_DATA_DIR: o.dataDir,
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (o.startTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null) {
      if (/EADDRINUSE[^\n]*:${port}\b/.test(out)) throw new PortTaken(`port ${port} was taken before the server listened:\n${out}`);
      throw new Error(`server exited (${child.exitCode}):\n${out}`);
    }
    try {
      const res = await fetch(`${url}/api/health`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`server did not start:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    pid: child.pid!,
    url,
    child,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
    output: () => out,
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Parses 256M, 1.5G, 1048576 … into bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** Writes `size` bytes of incompressible data (a 16 MiB random block, every MiB stamped). */
export function generateFile(file: string, size: number): void {
  const block = randomFillSync(Buffer.allocUnsafe(16 * 1024 * 1024));
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < size; off += block.length) {
      const n = Math.min(block.length, size - off);
      for (let m = 0; m < n; m += 1024 * 1024) block.writeUInt32LE((off + m) / (1024 * 1024), m);
      fs.writeSync(fd, block, 0, n, off);
    }
  } finally {
    fs.closeSync(fd);
  }
}
