/**
 * The one definition of proposal state in TypeScript: it mirrors `IGovernor.ProposalState`
 * (OpenZeppelin Contracts 5) value for value, so a number read from `governor.state(id)` is a
 * `ProposalState` as it is. No second, home-made status vocabulary anywhere in the app.
 */
export enum ProposalState {
  Pending = 0,
  Active = 1,
  Canceled = 2,
  Defeated = 3,
  Succeeded = 4,
  Queued = 5,
  Expired = 6,
  Executed = 7,
}

export const PROPOSAL_STATES: ProposalState[] = [
  ProposalState.Pending,
  ProposalState.Active,
  ProposalState.Canceled,
  ProposalState.Defeated,
  ProposalState.Succeeded,
  ProposalState.Queued,
  ProposalState.Expired,
  ProposalState.Executed,
];

export function proposalStateName(state: ProposalState): keyof typeof ProposalState {
  return ProposalState[state] as keyof typeof ProposalState;
}

export function parseProposalState(name: string | null | undefined): ProposalState | undefined {
  if (!name) return undefined;
  const key = Object.keys(ProposalState).find((k) => k.toLowerCase() === name.toLowerCase() && Number.isNaN(Number(k)));
  return key === undefined ? undefined : ProposalState[key as keyof typeof ProposalState];
}

/** What the index knows about a proposal, in the token's clock unit (seconds: ERC-6372 timestamp). */
export interface ProposalTimeline {
  /** Snapshot: voting opens after this timepoint. */
  voteStart: bigint;
  /** Deadline, including any late-quorum extension. */
  voteEnd: bigint;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  /** quorum(voteStart) — votes (For + Abstain) needed. */
  quorum: bigint;
  /** Timelock ETA once queued (0 / null when not queued). */
  eta: bigint | null;
  queued: boolean;
  executed: boolean;
  canceled: boolean;
}

/**
 * `Governor.state()` + `GovernorTimelockControl.state()` recomputed from indexed data at `now`
 * (seconds). Reads without a chain call; the proposal page also reads `state()` live.
 */
export function deriveProposalState(p: ProposalTimeline, now: bigint): ProposalState {
  if (p.executed) return ProposalState.Executed;
  if (p.canceled) return ProposalState.Canceled;
  if (p.voteStart >= now) return ProposalState.Pending;
  if (p.voteEnd >= now) return ProposalState.Active;
  const quorumReached = p.quorum <= p.forVotes + p.abstainVotes;
  const voteSucceeded = p.forVotes > p.againstVotes;
  if (!quorumReached || !voteSucceeded) return ProposalState.Defeated;
  if (!p.queued) return ProposalState.Succeeded;
  return ProposalState.Queued;
}

export function isFinal(state: ProposalState): boolean {
  return state === ProposalState.Canceled || state === ProposalState.Defeated || state === ProposalState.Expired || state === ProposalState.Executed;
}
