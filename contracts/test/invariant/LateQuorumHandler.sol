// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ModelGovernorHarness} from "../mocks/ModelGovernorHarness.sol";

/// @dev Drives ModelGovernor's votes and clock: proposals, For/Against/Abstain votes by any voter on any proposal,
/// time passing, and governance changing the late-quorum extension. After every call it checks that no deadline of
/// the proposals being voted on went down (ghostDecreases must stay 0).
contract LateQuorumHandler is CommonBase, StdUtils {
    uint256 internal constant MAX_PROPOSALS = 12;

    ModelGovernorHarness public immutable governor;
    address public immutable target;
    address[] internal _voters;
    uint256[] public proposals;
    mapping(uint256 proposalId => uint256) public ghostDeadline;
    /// @dev A deadline seen lower than the one seen before: must stay 0.
    uint256 public ghostDecreases;

    constructor(ModelGovernorHarness governor_, address target_, address[] memory voters_) {
        governor = governor_;
        target = target_;
        _voters = voters_;
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    function propose(uint256 seed) external {
        if (proposals.length >= MAX_PROPOSALS) return;
        address[] memory targets = new address[](1);
        targets[0] = target;
        uint256 id = governor.propose(targets, new uint256[](1), new bytes[](1), vm.toString(seed));
        proposals.push(id);
        _checkDeadlines();
    }

    function vote(uint256 voterSeed, uint256 proposalSeed, uint8 support) external {
        if (proposals.length == 0) return;
        // one of the three newest proposals: older ones are mostly over
        uint256 id = proposals[proposals.length - 1 - proposalSeed % Math.min(3, proposals.length)];
        vm.prank(_voters[voterSeed % _voters.length]);
        try governor.castVote(id, support % 3) {} catch {} // not active, or already voted
        _checkDeadlines();
    }

    function warp(uint256 seed) external {
        // mostly a few seconds, now and then a long way (towards and past deadlines)
        vm.warp(block.timestamp + (seed % 8 == 0 ? bound(seed >> 8, 0, 400) : bound(seed >> 8, 0, 30)));
        _checkDeadlines();
    }

    function setExtension(uint256 seed) external {
        governor.setLateQuorumVoteExtensionForTest(uint48(bound(seed, 0, governor.votingPeriod())));
        _checkDeadlines();
    }

    /// @dev The proposals a vote can touch, the three newest; {LateQuorumInvariantTest} checks every proposal's
    /// deadline against its record after each call.
    function _checkDeadlines() internal {
        uint256 n = proposals.length;
        for (uint256 i = n - Math.min(3, n); i < n; ++i) {
            uint256 deadline = governor.proposalDeadline(proposals[i]);
            if (deadline < ghostDeadline[proposals[i]]) ++ghostDecreases;
            ghostDeadline[proposals[i]] = deadline;
        }
    }
}
