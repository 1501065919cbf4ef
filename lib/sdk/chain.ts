import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, getAddress, http, isAddress, type Address, type PublicClient } from 'viem';
import { chainFor, pollingIntervalFor } from '../chain/client.ts';
import { ModelDaoError } from './errors.ts';

export interface ChainOptions {
  /** JSON-RPC URL; default $RPC_URL, else http://127.0.0.1:8545. */
  rpcUrl?: string;
  /** ModelRegistry address; default $MODELDAO_REGISTRY, else read from the deployment record. */
  registry?: string;
  /** Deployment record (contracts/deployments/<chainId>.json); default $DEPLOYMENT_FILE, else looked up by chain id. */
  deploymentFile?: string;
}

export interface ChainConnection {
  client: PublicClient;
  rpcUrl: string;
  chainId: number;
  registry: Address;
  /** From the deployment record when one was used: where to start scanning events. */
  deployBlock?: bigint;
  governor?: Address;
}

// The CLI runs bundled from a cache directory; its launcher says where the package lives.
const repoRoot = process.env.MODELDAO_PACKAGE_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? ((err as { shortMessage?: string }).shortMessage ?? err.message) : String(err);
  return msg.split('\n')[0] ?? '';
}

interface DeploymentLike {
  chainId: number;
  deployBlock?: number;
  contracts: { ModelRegistry: string; ModelGovernor?: string };
}

function readDeployment(file: string): DeploymentLike {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ModelDaoError('usage', 'deployment_not_found', `no deployment record at ${file}`);
  }
  try {
    const d = JSON.parse(raw) as DeploymentLike;
    if (!d?.contracts?.ModelRegistry || !isAddress(d.contracts.ModelRegistry)) throw new Error('contracts.ModelRegistry missing');
    return d;
  } catch (err) {
    throw new ModelDaoError('usage', 'deployment_invalid', `deployment record ${file} is invalid: ${firstLine(err)}`);
  }
}

/**
 * Connects to the chain and finds the registry. Everything a consumer trusts comes through here:
 * the RPC endpoint and the registry address (never a gateway).
 */
export async function connectChain(opts: ChainOptions = {}): Promise<ChainConnection> {
  const rpcUrl = opts.rpcUrl ?? process.env.RPC_URL ?? 'http://127.0.0.1:8545';
  let probe: PublicClient = createPublicClient({ transport: http(rpcUrl, { retryCount: 1, retryDelay: 200, timeout: 10_000 }) }) as PublicClient;
  let chainId: number;
  try {
    chainId = await probe.getChainId();
  } catch (err) {
    throw new ModelDaoError('chain', 'rpc_unreachable', `cannot reach the chain at ${rpcUrl}: ${firstLine(err)}`, { cause: err });
  }
  let registry: Address | undefined;
  let deployBlock: bigint | undefined;
  let governor: Address | undefined;
  const explicitRegistry = opts.registry ?? (opts.deploymentFile ? undefined : process.env.MODELDAO_REGISTRY);
  if (explicitRegistry) {
    if (!isAddress(explicitRegistry, { strict: false }))
      throw new ModelDaoError('usage', 'invalid_registry', `--registry ${explicitRegistry} is not an address`);
    registry = getAddress(explicitRegistry);
  } else {
    const candidates = opts.deploymentFile
      ? [path.resolve(opts.deploymentFile)]
      : process.env.DEPLOYMENT_FILE
        ? [path.resolve(process.env.DEPLOYMENT_FILE)]
        : [path.resolve('contracts', 'deployments', `${chainId}.json`), path.join(repoRoot, 'contracts', 'deployments', `${chainId}.json`)];
    const file = candidates.find((f) => fs.existsSync(f));
    if (!file) {
      throw new ModelDaoError(
        'usage',
        'registry_unknown',
        `no registry address: pass --registry ADDR or --deployment FILE (looked for ${candidates.join(', ')})`,
      );
    }
    const d = readDeployment(file);
    if (d.chainId !== chainId) {
      throw new ModelDaoError('chain', 'wrong_chain', `deployment record ${file} is for chain ${d.chainId} but ${rpcUrl} is chain ${chainId}`);
    }
    registry = getAddress(d.contracts.ModelRegistry);
    if (d.deployBlock !== undefined) deployBlock = BigInt(d.deployBlock);
    if (d.contracts.ModelGovernor && isAddress(d.contracts.ModelGovernor)) governor = getAddress(d.contracts.ModelGovernor);
  }
  const client = createPublicClient({
    chain: chainFor(chainId, rpcUrl),
    // No cached block number (viem keeps one for its 4 s polling interval): registry reads are pinned
    // to the head, and a connection kept by a long-running consumer must see a revoke at once.
    cacheTime: 0,
    pollingInterval: pollingIntervalFor(chainId),
    transport: http(rpcUrl, { retryCount: 2, retryDelay: 200, timeout: 15_000 }),
    batch: { multicall: false },
  }) as PublicClient;
  probe = client;
  let code: string | undefined;
  try {
    code = await client.getCode({ address: registry });
  } catch (err) {
    throw new ModelDaoError('chain', 'rpc_unreachable', `cannot reach the chain at ${rpcUrl}: ${firstLine(err)}`, { cause: err });
  }
  if (!code || code === '0x') {
    throw new ModelDaoError('chain', 'registry_not_deployed', `no contract at registry address ${registry} on chain ${chainId} (${rpcUrl})`);
  }
  return { client, rpcUrl, chainId, registry, deployBlock, governor };
}

export function chainErrorMessage(err: unknown): string {
  return firstLine(err);
}
