// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test, Vm} from "forge-std/Test.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorPreventLateQuorum} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {ModelToken} from "../src/ModelToken.sol";
import {ModelGovernor} from "../src/ModelGovernor.sol";
import {ReferenceGovernor} from "./mocks/ReferenceGovernor.sol";
import {ModelGovernorHarness} from "./mocks/ModelGovernorHarness.sol";

/// @dev Differential test: ModelGovernor skips GovernorPreventLateQuorum's bookkeeping when it cannot
/// move a deadline (a gas saving). Under fuzzed balances, quorum, extension, vote order, supports and
/// timing, its deadlines, states, vote outcomes and ProposalExtended events must equal those of the
/// same composition with only OpenZeppelin's boilerplate (ReferenceGovernor).
contract LateQuorumDifferentialTest is Test {
    uint256 internal constant VOTERS = 6;
    uint32 internal constant PERIOD = 300;

    ModelToken internal token;
    ModelGovernorHarness internal modeldao;
    ReferenceGovernor internal referenceGovernor;
    address[VOTERS] internal voters;

    function _setUpSystem(uint256[VOTERS] memory balances, uint256 quorumNumerator, uint48 extension) internal {
        vm.warp(1_700_000_000);
        address[] memory recipients = new address[](VOTERS + 1);
        uint256[] memory amounts = new uint256[](VOTERS + 1);
        for (uint256 i = 0; i < VOTERS; ++i) {
            voters[i] = address(uint160(0x1000 + i));
            recipients[i] = voters[i];
            amounts[i] = bound(balances[i], 0, 1_000_000e18);
        }
        recipients[VOTERS] = address(0xdead); // supply that never votes
        amounts[VOTERS] = 1_000_000e18;
        token = new ModelToken("T", "T", recipients, amounts);
        for (uint256 i = 0; i < VOTERS; ++i) {
            vm.prank(voters[i]);
            token.delegate(voters[i]);
        }
        TimelockController timelock = new TimelockController(0, new address[](0), new address[](0), address(this));
        modeldao = new ModelGovernorHarness(token, timelock, 1, PERIOD, quorumNumerator, extension);
        referenceGovernor = new ReferenceGovernor(token, timelock, 1, PERIOD, quorumNumerator, extension);
        vm.warp(block.timestamp + 1);
    }

    function _propose(IGovernor governor) internal returns (uint256) {
        address[] memory targets = new address[](1);
        targets[0] = address(token);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(token.totalSupply, ());
        return governor.propose(targets, new uint256[](1), calldatas, "differential");
    }

    function _extendedEvents(Vm.Log[] memory logs, address emitter) internal pure returns (bytes32 digest, uint256 n) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics[0] == GovernorPreventLateQuorum.ProposalExtended.selector)
            {
                digest = keccak256(abi.encode(digest, logs[i].data));
                ++n;
            }
        }
    }

    function testFuzz_lateQuorum_matchesUnmodifiedExtension(
        uint256[VOTERS] memory balances,
        uint256 quorumNumerator,
        uint256 extension,
        uint256[8] memory steps
    ) public {
        quorumNumerator = bound(quorumNumerator, 1, 60);
        extension = bound(extension, 0, PERIOD);
        _setUpSystem(balances, quorumNumerator, uint48(extension));
        uint256 idA = _propose(modeldao);
        uint256 idB = _propose(referenceGovernor);
        vm.warp(modeldao.proposalSnapshot(idA) + 1);

        for (uint256 k = 0; k < steps.length; ++k) {
            uint256 step = steps[k];
            // Mostly small steps, sometimes a jump towards or past the deadline.
            uint256 dt = step % 4 == 0 ? bound(step >> 16, 0, PERIOD) : bound(step >> 16, 0, 40);
            vm.warp(block.timestamp + dt);
            // Now and then governance changes the extension while the vote runs (both governors alike).
            if (step % 5 == 0) {
                uint48 newExtension = uint48(bound(step >> 40, 0, PERIOD));
                modeldao.setLateQuorumVoteExtensionForTest(newExtension);
                referenceGovernor.setLateQuorumVoteExtensionForTest(newExtension);
                assertEq(modeldao.lateQuorumVoteExtension(), referenceGovernor.lateQuorumVoteExtension(), "extension");
                assertEq(
                    modeldao.proposalDeadline(idA),
                    referenceGovernor.proposalDeadline(idB),
                    "deadline after extension change"
                );
            }
            address voter = voters[(step >> 8) % VOTERS];
            uint8 support = uint8((step >> 12) % 3);

            vm.recordLogs();
            vm.prank(voter);
            (bool okA,) = address(modeldao).call(abi.encodeCall(IGovernor.castVote, (idA, support)));
            vm.prank(voter);
            (bool okB,) = address(referenceGovernor).call(abi.encodeCall(IGovernor.castVote, (idB, support)));
            Vm.Log[] memory logs = vm.getRecordedLogs();

            assertEq(okA, okB, "vote accepted by one governor only");
            assertEq(modeldao.proposalDeadline(idA), referenceGovernor.proposalDeadline(idB), "deadline");
            assertEq(uint8(modeldao.state(idA)), uint8(referenceGovernor.state(idB)), "state");
            (bytes32 eventsA, uint256 nA) = _extendedEvents(logs, address(modeldao));
            (bytes32 eventsB, uint256 nB) = _extendedEvents(logs, address(referenceGovernor));
            assertEq(nA, nB, "ProposalExtended count");
            assertEq(eventsA, eventsB, "ProposalExtended payload");
        }
        vm.warp(referenceGovernor.proposalDeadline(idB) + 1);
        assertEq(uint8(modeldao.state(idA)), uint8(referenceGovernor.state(idB)), "final state");
    }
}
