// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {LateQuorumSystem} from "../utils/LateQuorumSystem.sol";
import {LateQuorumHandler} from "./LateQuorumHandler.sol";

/// @dev Proposals, votes, time and extension changes in any order (LateQuorumHandler): a proposal's deadline never
/// decreases, and it is always the latest of the deadline set at proposal creation and what the votes recorded in the
/// For votes' and the Abstain votes' slots (at most one of the two holds a record).
/// Voters: 100k, 60k, 40k, 20k, 10k, 5k; 1M never votes; quorum 5% (61.75k); extension 60 s, period 300 s.
contract LateQuorumInvariantTest is LateQuorumSystem {
    LateQuorumHandler internal handler;

    function setUp() public {
        uint256[VOTERS] memory amounts = [uint256(100_000e18), 60_000e18, 40_000e18, 20_000e18, 10_000e18, 5_000e18];
        _setUpSystem(amounts, 5, 60);
        address[] memory voterList = new address[](VOTERS);
        for (uint256 i = 0; i < VOTERS; ++i) {
            voterList[i] = voters[i];
        }
        handler = new LateQuorumHandler(modeldao, address(token), voterList);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = LateQuorumHandler.propose.selector;
        selectors[1] = LateQuorumHandler.vote.selector;
        selectors[2] = LateQuorumHandler.vote.selector; // votes twice as likely as the rest
        selectors[3] = LateQuorumHandler.warp.selector;
        selectors[4] = LateQuorumHandler.setExtension.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function invariant_proposalDeadline_neverDecreasesAndIsTheLaterOfBaseAndRecord() public view {
        assertEq(handler.ghostDecreases(), 0, "a deadline went down");
        uint256 n = handler.proposalCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.proposals(i);
            uint256 base = modeldao.baseDeadline(id);
            (uint256 byFor, uint256 byAbstain) = modeldao.recordedDeadlines(id);
            assertEq(
                modeldao.proposalDeadline(id),
                Math.max(base, Math.max(byFor, byAbstain)),
                "deadline == max(base, For slot's record, Abstain slot's record)"
            );
            assertTrue(byFor == 0 || byAbstain == 0, "records in both slots");
            uint256 record = byFor + byAbstain;
            assertEq(modeldao.recordedDeadline(id), record, "recordedDeadline is the slot that holds one");
            // a record is the proposal's own deadline (quorum reached before the window) or an extension past it
            if (record != 0) assertGe(record, base, "record below the proposal's own deadline");
        }
    }
}
