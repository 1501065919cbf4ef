// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {ModelGovernor} from "../../src/ModelGovernor.sol";

/// @dev ModelGovernor with test hooks: change the late-quorum extension mid-vote, as an executed
/// setLateQuorumVoteExtension proposal would, and read what the votes recorded for a deadline.
contract ModelGovernorHarness is ModelGovernor {
    constructor(
        IVotes token_,
        TimelockController timelock_,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 quorumNumerator_,
        uint48 voteExtension_
    ) ModelGovernor(token_, timelock_, votingDelay_, votingPeriod_, 0, quorumNumerator_, voteExtension_, address(0)) {}

    function setLateQuorumVoteExtensionForTest(uint48 newVoteExtension) external {
        _setLateQuorumVoteExtension(newVoteExtension);
    }

    function recordedDeadline(uint256 proposalId) external view returns (uint48) {
        return _recordedDeadline(proposalId);
    }

    /// @dev The record in the For votes' slot and in the Abstain votes' slot.
    function recordedDeadlines(uint256 proposalId) external view returns (uint48 byFor, uint48 byAbstain) {
        return _recordedDeadlines(proposalId);
    }

    /// @dev The deadline set at proposal creation, before any late-quorum extension.
    function baseDeadline(uint256 proposalId) external view returns (uint256) {
        return Governor.proposalDeadline(proposalId);
    }
}
