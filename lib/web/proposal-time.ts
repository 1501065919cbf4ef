import { ProposalState } from '@/lib/chain/proposal-state';
import { relativeTime } from './format';

/** One line: time left, ETA, or when it ended. */
export function proposalTimeText(
  p: { state: ProposalState; voteStart: number; voteEnd: number; eta: number | null; executedAt: number | null; canceledAt: number | null },
  now: number,
): string {
  switch (p.state) {
    case ProposalState.Pending:
      return `Voting starts ${relativeTime(p.voteStart, now)}`;
    case ProposalState.Active:
      return `Voting ends ${relativeTime(p.voteEnd, now)}`;
    case ProposalState.Succeeded:
      return 'Passed — anyone can queue it';
    case ProposalState.Queued:
      return p.eta && p.eta > now ? `Executable ${relativeTime(p.eta, now)} (ETA)` : 'Ready to execute';
    case ProposalState.Executed:
      return p.executedAt ? `Executed ${relativeTime(p.executedAt, now)}` : 'Executed';
    case ProposalState.Canceled:
      return p.canceledAt ? `Canceled ${relativeTime(p.canceledAt, now)}` : 'Canceled';
    case ProposalState.Defeated:
      return `Voting ended ${relativeTime(p.voteEnd, now)}`;
    case ProposalState.Expired:
      return 'Expired';
  }
}
