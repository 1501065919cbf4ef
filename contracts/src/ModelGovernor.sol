// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGovernor, Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {
    GovernorVotesQuorumFraction
} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {GovernorCountingLateQuorum} from "./governance/GovernorCountingLateQuorum.sol";

/// @title ModelGovernor
/// @notice The modeldao governor. Proposals pass through the timelock, which holds every permission
/// (it owns the model registry and the treasury); the governor itself holds none.
/// @dev Delays and periods are in the token's clock unit (seconds: ModelToken uses a timestamp clock).
/// The proposal guardian may cancel any proposal at any stage; governance may replace it.
///
/// Counting and late quorum: {GovernorCountingLateQuorum} stands in for OpenZeppelin's {GovernorCountingSimple} and
/// {GovernorPreventLateQuorum}, with the same ABI, events and deadlines, and keeps a late-quorum extension in the slot
/// of the proposal's For votes or Abstain votes, whichever the vote that reaches quorum late adds to: that vote records
/// it without a storage write of its own, and only a For or Abstain vote inside the late-quorum window computes the
/// quorum.
///
/// Signed ballots ({castVoteBySig}, {castVoteWithReasonAndParamsBySig}, which the server's relayer submits for
/// members without ETH) keep OpenZeppelin's EIP-712 types and nonce check but do not consume the nonce: a ballot
/// counts once because a voter votes once per proposal (see {_validateVoteSig}). Nothing else uses the governor's
/// nonces, so `nonces(voter)` stays 0.
contract ModelGovernor is
    Governor,
    GovernorSettings,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorCountingLateQuorum,
    GovernorProposalGuardian
{
    /// @dev The token does not use an ERC-6372 timestamp clock (`mode=timestamp`).
    error ModelGovernorUnsupportedClock(string clockMode);

    constructor(
        IVotes token_,
        TimelockController timelock_,
        uint48 initialVotingDelay,
        uint32 initialVotingPeriod,
        uint256 initialProposalThreshold,
        uint256 quorumNumeratorValue,
        uint48 initialVoteExtension,
        address initialProposalGuardian
    )
        Governor("ModelGovernor")
        GovernorSettings(initialVotingDelay, initialVotingPeriod, initialProposalThreshold)
        GovernorVotes(token_)
        GovernorVotesQuorumFraction(quorumNumeratorValue)
        GovernorTimelockControl(timelock_)
        GovernorCountingLateQuorum(initialVoteExtension)
    {
        _setProposalGuardian(initialProposalGuardian);
        string memory clockMode = IERC6372(address(token_)).CLOCK_MODE();
        if (keccak256(bytes(clockMode)) != keccak256("mode=timestamp")) {
            revert ModelGovernorUnsupportedClock(clockMode);
        }
    }

    /// @notice The governor's clock: seconds, like its token's (checked at construction).
    /// @dev Reads `block.timestamp` instead of calling `token().clock()` as {GovernorVotes} does: the token
    /// is immutable and its clock mode was checked, so the call (~1.3k gas, made by every state check,
    /// hence every vote, queue and execute) would always return this.
    function clock() public view override(Governor, GovernorVotes) returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc IERC6372
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override(Governor, GovernorVotes) returns (string memory) {
        return "mode=timestamp";
    }

    /**
     * @dev Validates a {castVoteBySig} ballot: OpenZeppelin's EIP-712 `Ballot` (same type, same domain, so wallets
     * and Tally-style signers work unchanged), signed by `voter` (ECDSA or ERC-1271) with `nonce == nonces(voter)`,
     * exactly as {Governor-_validateVoteSig} checks it, except that the nonce is **not consumed**.
     *
     * Replay protection of a ballot does not need the nonce: a ballot names its proposal and its voter, is bound to
     * this governor and chain by the domain, and {GovernorCountingLateQuorum} counts a voter once per proposal (a second
     * submission reverts with {GovernorAlreadyCastVote}); proposal ids are never reused. Consuming the nonce added no
     * protection (the governor offers no way to burn a nonce on purpose) and cost every relayed vote a storage write
     * (~20k gas for a voter's first ballot, a fresh slot, ~2.9k later), and it made two ballots signed with the same
     * nonce for two proposals exclusive: only the first to land counted. A signed ballot stays valid until it is
     * counted, the voter votes on that proposal otherwise, or voting ends.
     *
     * WARNING: this relies on a voter being counted at most once per proposal. A counting module that lets an account
     * vote again (e.g. {GovernorCountingFractional}, {GovernorCountingOverridable}) must consume the nonce again.
     */
    function _validateVoteSig(uint256 proposalId, uint8 support, address voter, bytes memory signature)
        internal
        view
        override
        returns (bool)
    {
        return SignatureChecker.isValidSignatureNow(
            voter,
            _hashTypedDataV4(keccak256(abi.encode(BALLOT_TYPEHASH, proposalId, support, voter, nonces(voter)))),
            signature
        );
    }

    /// @dev {castVoteWithReasonAndParamsBySig}'s `ExtendedBallot`, checked like {_validateVoteSig}: OpenZeppelin's
    /// type and check, the nonce must equal `nonces(voter)` and is not consumed.
    function _validateExtendedVoteSig(
        uint256 proposalId,
        uint8 support,
        address voter,
        string memory reason,
        bytes memory params,
        bytes memory signature
    ) internal view override returns (bool) {
        return SignatureChecker.isValidSignatureNow(
            voter,
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        EXTENDED_BALLOT_TYPEHASH,
                        proposalId,
                        support,
                        voter,
                        nonces(voter),
                        keccak256(bytes(reason)),
                        keccak256(params)
                    )
                )
            ),
            signature
        );
    }

    // The following functions are overrides required by Solidity.

    function proposalDeadline(uint256 proposalId)
        public
        view
        override(Governor, GovernorCountingLateQuorum)
        returns (uint256)
    {
        return super.proposalDeadline(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _tallyUpdated(uint256 proposalId) internal override(Governor, GovernorCountingLateQuorum) {
        super._tallyUpdated(proposalId);
    }

    function _validateCancel(uint256 proposalId, address caller)
        internal
        view
        override(Governor, GovernorProposalGuardian)
        returns (bool)
    {
        return super._validateCancel(proposalId, caller);
    }
}
