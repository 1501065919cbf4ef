/**
 * Every react-query key in the app comes from here, and each key carries every input that changes
 * the answer (chain, contract, account, ids) — a key that forgets one serves stale data for it.
 */
type Addr = `0x${string}` | undefined | null;

export const queryKeys = {
  all: ['modeldao'] as const,
  account: (chainId: number, token: Addr, account: Addr) => ['modeldao', 'account', chainId, token, account] as const,
  proposalLive: (chainId: number, governor: Addr, proposalId: string) => ['modeldao', 'proposal-live', chainId, governor, proposalId] as const,
  receipt: (chainId: number, governor: Addr, proposalId: string, account: Addr) =>
    ['modeldao', 'vote-receipt', chainId, governor, proposalId, account] as const,
  governorParams: (chainId: number, governor: Addr) => ['modeldao', 'governor-params', chainId, governor] as const,
  simulation: (chainId: number, governor: Addr, timelock: Addr, proposalId: string, blockTag: string) =>
    ['modeldao', 'simulation', chainId, governor, timelock, proposalId, blockTag] as const,
  /** which of `proposalIds` the account has voted on (governor.hasVoted), for the home page */
  votedOn: (chainId: number, governor: Addr, account: Addr, proposalIds: readonly string[]) =>
    ['modeldao', 'voted-on', chainId, governor, account, ...proposalIds] as const,
  currentManifest: (slug: string, digest: string | null) => ['modeldao', 'current-manifest', slug, digest] as const,
};
