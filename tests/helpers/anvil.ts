// Test helper: a real anvil on a free port with the contracts deployed by the forge deploy script.
import { startAnvil, deployContracts, type Anvil } from '../../lib/devchain/anvil.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
import type { PublicClient } from 'viem';
import { createChainClient } from '../../lib/chain/client.ts';
export { DEV_ACCOUNTS, GUARDIAN_ACCOUNT, advanceTime, mine, rpc, freePort } from '../../lib/devchain/anvil.ts';

export interface TestChain extends Anvil {
  deployment: Deployment;
  deploymentFile: string;
  /** A viem public client for this chain. */
  client(): PublicClient;
}

export async function startTestChain(opts: { env?: Record<string, string> } = {}): Promise<TestChain> {
  const anvil = await startAnvil();
  try {
    const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl, { env: opts.env });
    let client: PublicClient | undefined;
    return { ...anvil, deployment, deploymentFile, client: () => (client ??= createChainClient(anvil.rpcUrl, deployment.chainId)) };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
