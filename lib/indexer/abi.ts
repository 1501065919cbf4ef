import { toEventSelector, type AbiEvent } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi, timelockControllerAbi } from '../contracts/generated.ts';

// The events the indexer stores, taken from the generated ABIs (never hand-copied). Approval and
// EIP712DomainChanged are left out: nothing reads them and approvals would only add volume.

/** 'erc20': any other token's Transfer to or from the timelock (the treasury's other assets). */
export type ContractKind = 'governor' | 'token' | 'timelock' | 'registry' | 'erc20';

const skip = new Set(['Approval', 'EIP712DomainChanged']);
const eventsOf = (abi: readonly unknown[]): AbiEvent[] =>
  abi.filter((x): x is AbiEvent => (x as { type: string }).type === 'event' && !skip.has((x as AbiEvent).name));

export const indexedEvents: Record<ContractKind, readonly AbiEvent[]> = {
  governor: eventsOf(modelGovernorAbi),
  token: eventsOf(modelTokenAbi),
  timelock: eventsOf(timelockControllerAbi),
  registry: eventsOf(modelRegistryAbi),
  erc20: eventsOf(modelTokenAbi).filter((e) => e.name === 'Transfer'),
};

/** topic0 of ERC-20 Transfer(address indexed from, address indexed to, uint256 value). */
export const TRANSFER_TOPIC = toEventSelector(indexedEvents.erc20[0]!);

/** topic0 → (contract kind, event ABI). */
export const eventsBySelector = new Map<string, { kind: ContractKind; abi: AbiEvent }>();
for (const [kind, events] of Object.entries(indexedEvents) as [ContractKind, readonly AbiEvent[]][]) {
  for (const abi of events) {
    const selector = toEventSelector(abi);
    const seen = eventsBySelector.get(selector);
    // The same event on two contracts (e.g. OwnershipTransferred) keeps the first; kind comes from the address anyway.
    if (!seen) eventsBySelector.set(selector, { kind, abi });
  }
}
export const allTopics = [...eventsBySelector.keys()] as `0x${string}`[];
