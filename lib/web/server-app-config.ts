import 'server-only';
import { cache } from 'react';
import { getEnv } from '@/lib/web/server-env';
import { loadDeployment } from '@/lib/contracts/deployment';
import type { AppConfig } from './app-config';
import { getTokenSymbol } from './queries/token';
import { getGuardians } from './queries/guardians';

const chainNames: Record<number, string> = {
  31337: 'Anvil (local)',
  1: 'Ethereum',
  11155111: 'Sepolia',
  8453: 'Base',
  10: 'OP Mainnet',
  42161: 'Arbitrum One',
};

/** The public part of the server's configuration, for client components. */
export const getAppConfig = cache(async (): Promise<AppConfig> => {
  const env = getEnv();
  let contracts: AppConfig['contracts'] = null;
  let guardian: AppConfig['guardian'] = null;
  let proposalGuardian: AppConfig['proposalGuardian'] = null;
  let deploymentProblem: string | null = null;
  try {
    const d = loadDeployment(env.deploymentFile);
    contracts = {
      token: d.contracts.ModelToken,
      governor: d.contracts.ModelGovernor,
      timelock: d.contracts.TimelockController,
      registry: d.contracts.ModelRegistry,
    };
    // Governance can replace the guardians; the record only says who they were at deployment.
    ({ guardian, proposalGuardian } = await getGuardians(d));
  } catch (err) {
    deploymentProblem = err instanceof Error ? err.message : String(err);
  }
  return {
    chainId: env.CHAIN_ID,
    chainName: chainNames[env.CHAIN_ID] ?? `chain ${env.CHAIN_ID}`,
    rpcUrl: env.rpcUrl,
    contracts,
    guardian,
    proposalGuardian,
    deploymentProblem,
    tokenSymbol: await getTokenSymbol(),
    publicBaseUrl: env.publicBaseUrl,
  };
});
