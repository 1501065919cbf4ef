// Test helper: a real anvil on a free port with the contracts deployed by the forge deploy script.
import { startAnvil, deployContracts, type Anvil } from '../../lib/devchain/anvil.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
export { DEV_ACCOUNTS, GUARDIAN_ACCOUNT, advanceTime, mine, rpc, freePort } from '../../lib/devchain/anvil.ts';

export interface TestChain extends Anvil {
  deployment: Deployment;
  deploymentFile: string;
}

export async function startTestChain(opts: { env?: Record<string, string> } = {}): Promise<TestChain> {
  const anvil = await startAnvil();
  try {
    const { deployment, deploymentFile } = await deployContracts(anvil.rpcUrl, { env: opts.env });
    return { ...anvil, deployment, deploymentFile };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
