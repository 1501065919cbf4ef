import 'server-only';
import { cache } from 'react';
import { decodeErrorResult, parseEventLogs, type Abi, type Hex, type Log } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi, timelockControllerAbi } from '@/lib/contracts/generated';
import { getChainClient, getDeployment } from './chain';

const abis = [modelRegistryAbi, modelTokenAbi, modelGovernorAbi, timelockControllerAbi] as unknown as Abi[];
const allAbi = abis.flat() as Abi;

export interface SimulatedCall {
  ok: boolean;
  /** revert reason in words where the ABI knows the error */
  error: string | null;
  events: string[];
}

export interface Simulation {
  ran: boolean;
  /** block the simulation ran on */
  blockNumber: string | null;
  calls: SimulatedCall[];
  note: string | null;
}

function describeEvent(e: { eventName: string; args: unknown }): string {
  const args = e.args && typeof e.args === 'object' ? Object.entries(e.args as Record<string, unknown>) : [];
  return `${e.eventName}(${args.map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v)}`).join(', ')})`;
}

function describeRevert(data: Hex | undefined, fallback: string): string {
  if (data && data !== '0x') {
    try {
      const d = decodeErrorResult({ abi: allAbi, data });
      return `${d.errorName}(${(d.args ?? []).map(String).join(', ')})`;
    } catch {}
  }
  return fallback;
}

/**
 * Runs the proposal's actions as the timelock would (eth_simulateV1 at the latest block, all calls
 * in one simulated block, so a later call sees the effects of an earlier one). The outcome is what
 * executing it now would do — shown before anyone votes.
 */
export const simulateProposal = cache(async (id: string, targets: string[], values: string[], calldatas: string[]): Promise<Simulation> => {
  void id;
  const dep = getDeployment();
  if (!dep) return { ran: false, blockNumber: null, calls: [], note: 'No deployment record.' };
  try {
    const client = getChainClient();
    const { results, block } = await client.simulateCalls({
      account: dep.contracts.TimelockController,
      calls: targets.map((to, i) => ({ to: to as Hex, data: (calldatas[i] ?? '0x') as Hex, value: BigInt(values[i] ?? '0') })),
    });
    return {
      ran: true,
      blockNumber: block.number?.toString() ?? null,
      note: null,
      calls: results.map((r) => {
        const logs = (r as { logs?: Log[] }).logs ?? [];
        let events: string[] = [];
        try {
          events = parseEventLogs({ abi: allAbi, logs }).map((e) => describeEvent(e as never));
        } catch {}
        if (r.status === 'success') return { ok: true, error: null, events };
        const err = r.error as Error & { data?: Hex; cause?: { data?: Hex } };
        return { ok: false, error: describeRevert((r as { data?: Hex }).data, err?.message?.split('\n')[0] ?? 'reverted'), events };
      }),
    };
  } catch (err) {
    return {
      ran: false,
      blockNumber: null,
      calls: [],
      note: `The chain could not simulate it: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    };
  }
});
