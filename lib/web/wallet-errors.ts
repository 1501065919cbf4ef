import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError } from 'viem';

const governorErrors: Record<string, string> = {
  GovernorAlreadyCastVote: 'You already voted on this proposal.',
  GovernorInsufficientProposerVotes: 'Your voting power is below the proposal threshold. Delegate to yourself or gather delegations first.',
  GovernorUnexpectedProposalState: 'The proposal is not in the right state for this (too early, or already done).',
  GovernorNonexistentProposal: 'No such proposal.',
  GovernorUnableToCancel: 'Only the proposer (while pending) or the guardian can cancel this proposal.',
  GovernorOnlyExecutor: 'Only the timelock can do this.',
  GovernorRestrictedProposer: 'This description restricts who may submit it (#proposer= suffix).',
  TimelockUnexpectedOperationState: 'The timelock is not ready for this yet (ETA not reached, or already executed).',
  TimelockUnexecutedPredecessor: 'An earlier timelock operation must execute first.',
  ModelRegistryUnknownModel: 'Unknown model.',
  ModelRegistryUnknownSlug: 'Unknown model.',
  ModelRegistryUnauthorized: 'Only the DAO (timelock) or the guardian may do this.',
};

/** An error from the wallet or the chain, in words a member understands. */
export function describeWalletError(err: unknown): string {
  if (!err) return '';
  if (err instanceof BaseError) {
    if (err.walk((e) => e instanceof UserRejectedRequestError)) return 'You rejected the request in your wallet.';
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    const name = revert?.data?.errorName;
    if (name) return governorErrors[name] ?? `The contract refused: ${name}.`;
    if (/chain mismatch|does not match the target chain/i.test(err.message)) return 'Your wallet is on the wrong network.';
    if (/insufficient funds/i.test(err.message)) return 'Not enough ETH for gas.';
    return err.shortMessage || err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
