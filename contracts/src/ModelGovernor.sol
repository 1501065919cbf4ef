// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGovernor, Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {
    GovernorVotesQuorumFraction
} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorPreventLateQuorum} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title ModelGovernor
/// @notice The modeldao governor. Proposals pass through the timelock, which holds every permission
/// (it owns the model registry and the treasury); the governor itself holds none.
/// @dev Delays and periods are in the token's clock unit (seconds: ModelToken uses a timestamp clock).
/// The proposal guardian may cancel any proposal at any stage; governance may replace it.
///
/// Gas: {GovernorPreventLateQuorum} as written computes the quorum (two checkpoint lookups and a call to
/// the token, ~14k gas) on every vote until quorum is reached, then stores the extended deadline in a
/// fresh slot (~20k) even when quorum was reached early and the record can never move the deadline.
/// {_countVote} and {_tallyUpdated} below skip that bookkeeping whenever it cannot change anything, so
/// the extension only costs gas for a vote that can actually reach quorum late; {proposalDeadline}
/// skips reading the recorded extension while no record can move the deadline (one cold read less per
/// vote), and that vote's quorum is computed once per transaction. Proposal deadlines and
/// {ProposalExtended} events are exactly those of the unmodified extension (see the differential test
/// in contracts/test/LateQuorum.t.sol).
///
/// Signed ballots ({castVoteBySig}, {castVoteWithReasonAndParamsBySig}, which the server's relayer submits for
/// members without ETH) keep OpenZeppelin's EIP-712 types and nonce check but do not consume the nonce: a ballot
/// counts once because a voter votes once per proposal (see {_validateVoteSig}). Nothing else uses the governor's
/// nonces, so `nonces(voter)` stays 0.
contract ModelGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorPreventLateQuorum,
    GovernorProposalGuardian
{
    /// @dev Set by {_countVote}, consumed by {_tallyUpdated} within the same vote: this vote may be the one
    /// that first reaches quorum inside the late-quorum window.
    bool private transient _lateQuorumCheckPending;
    /// @dev quorum(snapshot) of `_quorumCacheProposal`, computed by {_countVote} and reused by
    /// {_quorumReached} in the same transaction (a past snapshot's quorum never changes).
    uint256 private transient _quorumCache;
    uint256 private transient _quorumCacheProposal;

    /// @dev The late-quorum extension in force (mirrors {GovernorPreventLateQuorum}'s private value) and the
    /// largest it has ever been, in one slot: one cold read per vote answers both "can this vote be in the
    /// window" and "can any recorded extension move this deadline".
    uint48 private _lateQuorumExtension;
    uint48 private _maxLateQuorumExtensionEver;

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
        GovernorPreventLateQuorum(initialVoteExtension)
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

    /// @inheritdoc GovernorPreventLateQuorum
    function lateQuorumVoteExtension() public view override returns (uint48) {
        return _lateQuorumExtension;
    }

    /// @dev Keeps the packed mirror of the extension (and its all-time maximum) next to OpenZeppelin's.
    function _setLateQuorumVoteExtension(uint48 newVoteExtension) internal override {
        super._setLateQuorumVoteExtension(newVoteExtension);
        _lateQuorumExtension = newVoteExtension;
        if (newVoteExtension > _maxLateQuorumExtensionEver) _maxLateQuorumExtensionEver = newVoteExtension;
    }

    /**
     * @dev Same value as {GovernorPreventLateQuorum-proposalDeadline}, without reading the recorded
     * extension while none can matter: a record made at time `t` is `t + extension(t)`, at most
     * `now + maxExtensionEver`, so while that is before the proposal's own deadline the maximum is the
     * proposal's own deadline. Saves a cold storage read in every vote outside the late-quorum window.
     */
    function proposalDeadline(uint256 proposalId)
        public
        view
        override(Governor, GovernorPreventLateQuorum)
        returns (uint256)
    {
        uint256 deadline = Governor.proposalDeadline(proposalId);
        if (clock() + uint256(_maxLateQuorumExtensionEver) < deadline) return deadline;
        return super.proposalDeadline(proposalId);
    }

    /**
     * @dev A deadline moves only when quorum is first reached at a time `t` with
     * `t + lateQuorumVoteExtension() > original deadline`. So the unmodified extension's bookkeeping
     * ({GovernorPreventLateQuorum-_tallyUpdated}) runs only for a For or Abstain vote (Against does not
     * count towards quorum) cast inside that window while quorum was not yet reached. Outside the window
     * the unmodified extension would record a deadline no later than the original one, which
     * {proposalDeadline} ignores; once quorum is reached it never records again.
     */
    function _countVote(uint256 proposalId, address account, uint8 support, uint256 totalWeight, bytes memory params)
        internal
        override(Governor, GovernorCountingSimple)
        returns (uint256)
    {
        if (
            support != uint8(VoteType.Against)
                && clock() + lateQuorumVoteExtension() > Governor.proposalDeadline(proposalId)
        ) {
            uint256 quorumAtSnapshot = quorum(proposalSnapshot(proposalId));
            _quorumCache = quorumAtSnapshot;
            _quorumCacheProposal = proposalId;
            (, uint256 forVotes, uint256 abstainVotes) = proposalVotes(proposalId);
            if (quorumAtSnapshot > forVotes + abstainVotes) _lateQuorumCheckPending = true;
        }
        return super._countVote(proposalId, account, support, totalWeight, params);
    }

    /// @dev {GovernorCountingSimple-_quorumReached}, with the quorum {_countVote} just computed when there is one.
    function _quorumReached(uint256 proposalId)
        internal
        view
        override(Governor, GovernorCountingSimple)
        returns (bool)
    {
        if (_quorumCacheProposal == proposalId && proposalId != 0) {
            (, uint256 forVotes, uint256 abstainVotes) = proposalVotes(proposalId);
            return _quorumCache <= forVotes + abstainVotes;
        }
        return super._quorumReached(proposalId);
    }

    /// @dev See {_countVote}.
    function _tallyUpdated(uint256 proposalId) internal override(Governor, GovernorPreventLateQuorum) {
        if (_lateQuorumCheckPending) {
            _lateQuorumCheckPending = false;
            super._tallyUpdated(proposalId);
        }
    }

    /**
     * @dev Validates a {castVoteBySig} ballot: OpenZeppelin's EIP-712 `Ballot` (same type, same domain, so wallets
     * and Tally-style signers work unchanged), signed by `voter` (ECDSA or ERC-1271) with `nonce == nonces(voter)`,
     * exactly as {Governor-_validateVoteSig} checks it, except that the nonce is **not consumed**.
     *
     * Replay protection of a ballot does not need the nonce: a ballot names its proposal and its voter, is bound to
     * this governor and chain by the domain, and {GovernorCountingSimple} counts a voter once per proposal (a second
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

    function _validateCancel(uint256 proposalId, address caller)
        internal
        view
        override(Governor, GovernorProposalGuardian)
        returns (bool)
    {
        return super._validateCancel(proposalId, caller);
    }
}
