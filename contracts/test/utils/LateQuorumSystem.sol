// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {ModelToken} from "../../src/ModelToken.sol";
import {ModelGovernorHarness} from "../mocks/ModelGovernorHarness.sol";
import {ReferenceGovernor} from "../mocks/ReferenceGovernor.sol";

/// @dev The system the late-quorum tests vote on: a token held by VOTERS delegates and by one account that never
/// votes, ModelGovernor (with test hooks) and, beside it on the same token, the same composition built from
/// OpenZeppelin's own GovernorCountingSimple and GovernorPreventLateQuorum (ReferenceGovernor). Voting delay 1 s,
/// voting period PERIOD s, no proposal threshold.
abstract contract LateQuorumSystem is Test {
    uint256 internal constant VOTERS = 6;
    uint32 internal constant PERIOD = 300;
    uint256 internal constant NON_VOTING_SUPPLY = 1_000_000e18;

    ModelToken internal token;
    ModelGovernorHarness internal modeldao;
    ReferenceGovernor internal referenceGovernor;
    address[VOTERS] internal voters;

    function _setUpSystem(uint256[VOTERS] memory amounts, uint256 quorumNumerator, uint48 extension) internal {
        vm.warp(1_700_000_000);
        address[] memory recipients = new address[](VOTERS + 1);
        uint256[] memory balances = new uint256[](VOTERS + 1);
        for (uint256 i = 0; i < VOTERS; ++i) {
            voters[i] = address(uint160(0x1000 + i));
            recipients[i] = voters[i];
            balances[i] = amounts[i];
        }
        recipients[VOTERS] = address(0xdead);
        balances[VOTERS] = NON_VOTING_SUPPLY;
        token = new ModelToken("T", "T", recipients, balances);
        for (uint256 i = 0; i < VOTERS; ++i) {
            vm.prank(voters[i]);
            token.delegate(voters[i]);
        }
        TimelockController timelock = new TimelockController(0, new address[](0), new address[](0), address(this));
        modeldao = new ModelGovernorHarness(token, timelock, 1, PERIOD, quorumNumerator, extension);
        referenceGovernor = new ReferenceGovernor(token, timelock, 1, PERIOD, quorumNumerator, extension);
        vm.warp(block.timestamp + 1);
    }

    /// @dev A proposal (calling `token.totalSupply()`) named by `description`.
    function _propose(IGovernor governor, string memory description) internal returns (uint256) {
        address[] memory targets = new address[](1);
        targets[0] = address(token);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(token.totalSupply, ());
        return governor.propose(targets, new uint256[](1), calldatas, description);
    }
}
