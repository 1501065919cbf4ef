// EIP-712 messages the relayer accepts, exactly as the contracts define them (portable: browser,
// server, tests). Each is bound to the chain and the contract by its domain and signed with the
// signer's current nonce on that contract. A delegation is single-use by that nonce (delegateBySig
// consumes it) and carries an expiry; a ballot counts once because a voter is counted once per
// proposal (ModelGovernor checks the ballot nonce but does not consume it, so nonces(voter) stays 0).
//   OpenZeppelin Governor v5: Ballot / ExtendedBallot (castVoteBySig, castVoteWithReasonAndParamsBySig)
//   OpenZeppelin Votes (ERC20Votes): Delegation (delegateBySig)
import type { Address, Hex } from 'viem';

export const ballotTypes = {
  Ballot: [
    { name: 'proposalId', type: 'uint256' },
    { name: 'support', type: 'uint8' },
    { name: 'voter', type: 'address' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

export const extendedBallotTypes = {
  ExtendedBallot: [
    { name: 'proposalId', type: 'uint256' },
    { name: 'support', type: 'uint8' },
    { name: 'voter', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'reason', type: 'string' },
    { name: 'params', type: 'bytes' },
  ],
} as const;

export const delegationTypes = {
  Delegation: [
    { name: 'delegatee', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint256' },
  ],
} as const;

/** A contract's EIP-712 domain as its eip712Domain() reports it (ERC-5267). */
export interface Eip712Domain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

export interface BallotMessage {
  proposalId: bigint;
  support: 0 | 1 | 2;
  voter: Address;
  nonce: bigint;
  /** with a reason (or params) the ExtendedBallot is signed; without, the plain Ballot */
  reason?: string;
  params?: Hex;
}

/** Whether a vote is sent as castVoteWithReasonAndParamsBySig (ExtendedBallot) rather than castVoteBySig. */
export function isExtendedBallot(m: Pick<BallotMessage, 'reason' | 'params'>): boolean {
  return Boolean(m.reason) || Boolean(m.params && m.params !== '0x');
}

/** The typed data a voter signs (for viem's signTypedData / verifyTypedData). */
export function ballotTypedData(domain: Eip712Domain, m: BallotMessage) {
  const base = { proposalId: m.proposalId, support: m.support, voter: m.voter, nonce: m.nonce };
  if (isExtendedBallot(m)) {
    return {
      domain,
      types: extendedBallotTypes,
      primaryType: 'ExtendedBallot' as const,
      message: { ...base, reason: m.reason ?? '', params: m.params ?? '0x' },
    };
  }
  return { domain, types: ballotTypes, primaryType: 'Ballot' as const, message: base };
}

export interface DelegationMessage {
  delegatee: Address;
  nonce: bigint;
  /** unix seconds after which the token refuses the signature */
  expiry: bigint;
}

export function delegationTypedData(domain: Eip712Domain, m: DelegationMessage) {
  return { domain, types: delegationTypes, primaryType: 'Delegation' as const, message: { ...m } };
}

/** POST /api/relay/vote body (numbers as decimal strings). */
export interface RelayVoteBody {
  proposalId: string;
  support: 0 | 1 | 2;
  voter: Address;
  nonce: string;
  reason?: string;
  params?: Hex;
  signature: Hex;
}

/** POST /api/relay/delegate body (numbers as decimal strings). */
export interface RelayDelegateBody {
  delegator: Address;
  delegatee: Address;
  nonce: string;
  expiry: string;
  signature: Hex;
}

/** What GET /api/relay/{id} and the POSTs answer. */
export interface RelayStatus {
  id: string;
  kind: 'vote' | 'delegate';
  status: 'submitted' | 'mined' | 'reverted' | 'failed';
  signer: Address;
  proposalId: string | null;
  txHash: string | null;
  /** every transaction hash sent for this request (fee-bumped replacements share the nonce) */
  txHashes: string[];
  nonce: number;
  blockNumber: number | null;
  gasUsed: string | null;
  error: { code: string; message: string } | null;
  createdAt: string;
}

/** What GET /api/relay/policy answers (the operator's policy, no secret). */
export interface RelayPolicyView {
  enabled: boolean;
  relayer: Address | null;
  chainId: number;
  governor: Address;
  token: Address;
  accountDailyLimit: number;
  proposalLimit: number;
  maxFeePerGasWei: string;
  dailyBudgetWei: string;
  spentTodayWei: string;
  reservedWei: string;
  proposals: 'all' | 'none' | string[];
  relayerBalanceWei: string | null;
}

/** eip712Domain()'s tuple (ERC-5267) as the domain to sign with. */
export function domainFromTuple(t: readonly [Hex, string, string, bigint, Address, Hex, readonly bigint[]]): Eip712Domain {
  return { name: t[1], version: t[2], chainId: Number(t[3]), verifyingContract: t[4] };
}

/** Anything that signs EIP-712 typed data: a viem account or wallet client, wagmi's signTypedData. */
export type TypedDataSigner = (typed: ReturnType<typeof ballotTypedData> | ReturnType<typeof delegationTypedData>) => Promise<Hex>;

/** Signs a ballot and returns the POST /api/relay/vote body. */
export async function signBallot(sign: TypedDataSigner, domain: Eip712Domain, m: BallotMessage): Promise<RelayVoteBody> {
  const signature = await sign(ballotTypedData(domain, m));
  return {
    proposalId: String(m.proposalId),
    support: m.support,
    voter: m.voter,
    nonce: String(m.nonce),
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.params && m.params !== '0x' ? { params: m.params } : {}),
    signature,
  };
}

/** Signs a delegation and returns the POST /api/relay/delegate body. */
export async function signDelegation(sign: TypedDataSigner, domain: Eip712Domain, delegator: Address, m: DelegationMessage): Promise<RelayDelegateBody> {
  const signature = await sign(delegationTypedData(domain, m));
  return { delegator, delegatee: m.delegatee, nonce: String(m.nonce), expiry: String(m.expiry), signature };
}
