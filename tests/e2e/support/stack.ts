import { inject } from 'vitest';
import { loadDeployment } from '../../../lib/contracts/deployment.ts';
import { governance } from './chain.ts';

/** The running stack (from the global setup), its deployment and a governance driver for set-up steps. */
export function useStack() {
  const stack = inject('stack');
  const deployment = loadDeployment(stack.deploymentFile);
  const gov = governance(stack.rpcUrl, deployment);
  return {
    ...stack,
    deployment,
    gov,
    votingPeriod: deployment.governance?.votingPeriod ?? 300,
    votingDelay: deployment.governance?.votingDelay ?? 1,
    timelockDelay: deployment.governance?.timelockDelay ?? 60,
    /** Waits until the server's index has caught up with the chain head. */
    async waitForIndex() {
      const head = await gov.pub.getBlockNumber();
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        const res = await fetch(`${stack.baseUrl}/api/health`).catch(() => null);
        const h = res ? ((await res.json().catch(() => ({}))) as { indexedBlock?: number }) : {};
        if (h.indexedBlock !== undefined && BigInt(h.indexedBlock) >= head) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`index did not reach block ${head}`);
    },
  };
}
