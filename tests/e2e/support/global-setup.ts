import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

// Starts the whole local stack with the same command a newcomer runs (`npm run dev`, via tsx
// scripts/dev.ts) on free ports and a throwaway data dir, and waits for its "running" banner.
// E2E_BASE_URL + E2E_RPC_URL (+ DEPLOYMENT_FILE) reuse a stack that is already up instead.

export interface StackInfo {
  baseUrl: string;
  rpcUrl: string;
  deploymentFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject) {
  fs.mkdirSync(path.join(repoRoot, 'test-results', 'e2e'), { recursive: true });
  if (process.env.E2E_BASE_URL) {
    project.provide('stack', {
      baseUrl: process.env.E2E_BASE_URL.replace(/\/$/, ''),
      rpcUrl: process.env.E2E_RPC_URL ?? 'http://127.0.0.1:8545',
      deploymentFile: path.resolve(repoRoot, process.env.DEPLOYMENT_FILE ?? 'contracts/deployments/31337.json'),
    });
    return;
  }

  const [port, anvilPort] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-e2e-'));
  const deploymentFile = path.join(dataDir, 'deployment-31337.json');
  const log = fs.createWriteStream(path.join(repoRoot, 'test-results', 'e2e', 'stack.log'));
  const child: ChildProcess = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['scripts/dev.ts'], {
    cwd: repoRoot,
    detached: true, // own process group: teardown stops anvil and the server with it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: stackEnv({ PORT: String(port), ANVIL_PORT: String(anvilPort), MODELDAO_DATA_DIR: dataDir, DEPLOYMENT_FILE: deploymentFile }),
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      output += b.toString();
      log.write(b);
      if (/modeldao is running/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`npm run dev exited with ${code} before it was ready:\n${output.slice(-3000)}`)));
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`stack not ready after 8 min:\n${output.slice(-3000)}`)), 480_000).unref(),
  );
  try {
    await Promise.race([ready, timeout]);
  } catch (err) {
    stop(child);
    throw err;
  }
  const baseUrl = /Web app\s+(\S+)/.exec(output)?.[1] ?? `http://127.0.0.1:${port}`;
  const rpcUrl = /Chain\s+(http\S+)/.exec(output)?.[1] ?? `http://127.0.0.1:${anvilPort}`;
  project.provide('stack', {
    baseUrl: baseUrl.replace(/\/$/, ''),
    rpcUrl,
    deploymentFile: fs.existsSync(deploymentFile) ? deploymentFile : path.join(repoRoot, 'contracts/deployments/31337.json'),
  });

  return async () => {
    await stopAndWait(child);
    log.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}

function stackEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, NEXT_TELEMETRY_DISABLED: '1' };
  delete env.RPC_URL; // npm run dev starts its own chain
  delete env.DATABASE_URL; // embedded PGlite in the throwaway data dir
  return env;
}

function stop(child: ChildProcess) {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {}
}

async function stopAndWait(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  stop(child);
  const t = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }, 15_000);
  await exited;
  clearTimeout(t);
}
