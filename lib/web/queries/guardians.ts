import 'server-only';
import { zeroAddress, type Address } from 'viem';
import { modelGovernorAbi, modelRegistryAbi } from '@/lib/contracts/generated';
import type { Deployment } from '@/lib/contracts/deployment';
import { getChainClient } from './chain';

/**
 * Who may revoke (registry) and who may cancel (governor) right now, read from the chain: both are
 * changed by executed proposals (setGuardian, setProposalGuardian). Falls back to the deployment
 * record when the chain does not answer, so pages still render.
 */
export async function getGuardians(d: Deployment): Promise<{ guardian: Address | null; proposalGuardian: Address | null }> {
  const client = getChainClient();
  const [g, pg] = await Promise.allSettled([
    client.readContract({ address: d.contracts.ModelRegistry, abi: modelRegistryAbi, functionName: 'guardian' }),
    client.readContract({ address: d.contracts.ModelGovernor, abi: modelGovernorAbi, functionName: 'proposalGuardian' }),
  ]);
  const pick = (r: PromiseSettledResult<Address>) => (r.status === 'fulfilled' ? (r.value === zeroAddress ? null : r.value) : (d.guardian ?? null));
  return { guardian: pick(g), proposalGuardian: pick(pg) };
}
