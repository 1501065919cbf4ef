import { ProposalState, proposalStateName } from '@/lib/chain/proposal-state';

export function StateBadge({ state }: { state: ProposalState }) {
  const name = proposalStateName(state);
  return (
    <span className={`badge badge-${name}`} data-testid="proposal-state">
      {name}
    </span>
  );
}
