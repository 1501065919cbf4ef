// Test helper: a real anvil on a free port with the contracts deployed by the forge deploy script.
import fs from 'node:fs';
import path from 'node:path';
import { startAnvil, deployContracts, type Anvil } from '../../lib/devchain/anvil.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
import type { PublicClient } from 'viem';
import { createChainClient } from '../../lib/chain/client.ts';
export { DEV_ACCOUNTS, GUARDIAN_ACCOUNT, advanceTime, mine, rpc, freePort } from '../../lib/devchain/anvil.ts';

export interface TestChain extends Anvil {
  deployment: Deployment;
  deploymentFile: string;
}

const clients = new WeakMap<object, PublicClient>();
/** A viem public client for a test chain (one per chain). */
export function chainClient(chain: TestChain): PublicClient {
  let c = clients.get(chain);
  if (!c) clients.set(chain, (c = createChainClient(chain.rpcUrl, chain.deployment.chainId)));
  return c;
}

export async function startTestChain(opts: { env?: Record<string, string> } = {}): Promise<TestChain> {
  const anvil = await startAnvil();
  try {
    const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl, { env: opts.env });
    return {
      ...anvil,
      deployment,
      deploymentFile,
      // the deploy record's temporary directory goes with the chain
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
