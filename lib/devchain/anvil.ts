import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadDeployment, type Deployment } from '../contracts/deployment.ts';
import { repoRoot } from '../repo-root.ts';

// Local chain for `npm run dev`, tests and benchmarks: anvil from @foundry-rs/anvil, contracts deployed
// by the same forge script production uses (contracts/script/Deploy.s.sol).

export { repoRoot };
const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);

/**
 * The native forge/anvil/cast binary from @foundry-rs/<tool>-<os>-<arch>. The `.bin/<tool>` entry is a
 * node wrapper that spawns it: killing the wrapper (a test's cleanup, SIGKILL) would orphan a
 * running anvil, so long-lived processes are started from the binary itself.
 */
export function foundryBinary(tool: 'anvil' | 'forge' | 'cast'): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
  const native = path.join(repoRoot, 'node_modules', '@foundry-rs', `${tool}-${process.platform}-${arch}`, 'bin', tool);
  return fs.existsSync(native) ? native : bin(tool);
}

/** anvil's default mnemonic accounts ("test test … junk"). Public knowledge; only for chain 31337. */
export const DEV_ACCOUNTS = [
  { address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' },
  { address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' },
  { address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', privateKey: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a' },
  { address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906', privateKey: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6' },
  { address: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65', privateKey: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a' },
  { address: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc', privateKey: '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' },
  { address: '0x976EA74026E726554dB657fA54763abd0C3a0aa9', privateKey: '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e' },
  { address: '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955', privateKey: '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356' },
  { address: '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f', privateKey: '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97' },
  { address: '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720', privateKey: '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6' },
] as const satisfies readonly { address: `0x${string}`; privateKey: `0x${string}` }[];
export const GUARDIAN_ACCOUNT = DEV_ACCOUNTS[9];

/**
 * A free TCP port on 127.0.0.1 for a process we start next (anvil, a server, PostgreSQL, Swift).
 * Chosen below the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by
 * default): a port from that range (what `listen(0)` returns) can be taken by any outgoing
 * connection's local end in the second between this check and the new process's listen — with
 * tests opening thousands of loopback connections that happened (EADDRINUSE). A random port in
 * 20000 up to the range's start is checked by binding it, and another is tried if it is busy.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * Math.max(1, low - 20_000));
    // never the same port twice from one process (calls in parallel would both find it free)
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  return listenZero();
}

const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 21_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function listenZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function rpc<T = unknown>(rpcUrl: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export interface Anvil {
  port: number;
  rpcUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startAnvil(opts: { port?: number; chainId?: number; blockTime?: number; args?: string[] } = {}): Promise<Anvil> {
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--host', '127.0.0.1', '--chain-id', String(opts.chainId ?? 31337), '--silent', '--gas-limit', '100000000'];
  if (opts.blockTime) args.push('--block-time', String(opts.blockTime));
  args.push(...(opts.args ?? []));
  const child = spawn(foundryBinary('anvil'), args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  // Whatever happens to the caller (a test that times out, a crash), the chain goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}) on port ${port}: ${stderr.trim()}`);
    try {
      await rpc(rpcUrl, 'eth_chainId');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`anvil did not answer on ${rpcUrl} within 20 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    rpcUrl,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/**
 * Deploys with contracts/script/Deploy.s.sol (the production path) and returns the record it wrote.
 * `env` passes governance parameters (VOTING_PERIOD, TIMELOCK_DELAY, …) through to the script.
 */
export async function deployContracts(
  rpcUrl: string,
  opts: { deploymentFile?: string; env?: Record<string, string>; privateKey?: string } = {},
): Promise<{ deployment: Deployment; deploymentFile: string }> {
  const deploymentFile = opts.deploymentFile ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-deploy-')), 'deployment.json');
  const args = [
    'script',
    'contracts/script/Deploy.s.sol',
    '--rpc-url',
    rpcUrl,
    '--broadcast',
    '--private-key',
    opts.privateKey ?? DEV_ACCOUNTS[0].privateKey,
    '--slow',
    '--skip',
    'test',
  ];
  // (--skip test: a fresh clone compiles only what the deployment needs, not the test suite.)
  await new Promise<void>((resolve, reject) => {
    const child = spawn(foundryBinary('forge'), args, {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env, DEPLOYMENT_FILE: deploymentFile, FOUNDRY_DISABLE_NIGHTLY_WARNING: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`forge script failed (${code}):\n${out.slice(-4000)}`))));
  });
  return { deployment: loadDeployment(deploymentFile), deploymentFile };
}

/** Moves anvil's clock forward and mines one block (the token uses a timestamp clock). */
export async function advanceTime(rpcUrl: string, seconds: number): Promise<void> {
  await rpc(rpcUrl, 'evm_increaseTime', [seconds]);
  await rpc(rpcUrl, 'evm_mine');
}

export async function mine(rpcUrl: string, blocks = 1): Promise<void> {
  await rpc(rpcUrl, 'anvil_mine', [`0x${blocks.toString(16)}`]);
}
