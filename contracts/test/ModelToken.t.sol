// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {ModelToken} from "../src/ModelToken.sol";

contract ModelTokenTest is Fixture {
    function test_clock_isTimestamp() public {
        assertEq(token.clock(), block.timestamp);
        vm.warp(block.timestamp + 1234);
        assertEq(token.clock(), block.timestamp);
        assertEq(token.CLOCK_MODE(), "mode=timestamp");
    }

    function test_constructor_revertsIfLengthsDiffer() public {
        address[] memory recipients = new address[](2);
        uint256[] memory amounts = new uint256[](1);
        vm.expectRevert(abi.encodeWithSelector(ModelToken.ModelTokenDistributionLengthMismatch.selector, 2, 1));
        new ModelToken("T", "T", recipients, amounts);
    }

    function test_constructor_emptyDistribution() public {
        ModelToken t = new ModelToken("T", "T", new address[](0), new uint256[](0));
        assertEq(t.totalSupply(), 0);
    }

    function test_delegate_checkpointsByTimestamp() public {
        uint256 t0 = block.timestamp;
        vm.prank(holders[1]);
        token.delegate(holders[1]);
        assertEq(token.getVotes(holders[1]), 100_000e18);
        vm.warp(t0 + 10);
        assertEq(token.getPastVotes(holders[1], t0), 100_000e18);
        assertEq(token.getPastVotes(holders[1], t0 - 1), 0);
        assertEq(token.getPastTotalSupply(t0), 1_000_000e18);
    }

    function test_transfer_movesVotes() public {
        vm.prank(holders[1]);
        token.delegate(holders[1]);
        vm.prank(holders[1]);
        token.transfer(maintainer, 40_000e18);
        assertEq(token.getVotes(holders[1]), 60_000e18);
        vm.prank(maintainer);
        token.delegate(maintainer);
        assertEq(token.getVotes(maintainer), 40_000e18);
    }

    function test_permit_setsAllowanceAndNonce() public {
        uint256 key = HOLDER_KEYS[2];
        address owner = holders[2];
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                maintainer,
                5e18,
                token.nonces(owner),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        token.permit(owner, maintainer, 5e18, deadline, v, r, s);
        assertEq(token.allowance(owner, maintainer), 5e18);
        assertEq(token.nonces(owner), 1);
    }

    function testFuzz_transfer_conservesVotingSupply(uint256 amount, uint8 fromIndex, uint8 toIndex) public {
        _delegateAll();
        address from = holders[fromIndex % 5];
        address to = holders[toIndex % 5];
        amount = bound(amount, 0, token.balanceOf(from));
        vm.prank(from);
        token.transfer(to, amount);
        uint256 sum;
        for (uint256 i = 0; i < 5; ++i) {
            sum += token.getVotes(holders[i]);
            assertEq(token.getVotes(holders[i]), token.balanceOf(holders[i]));
        }
        assertEq(sum, 500_000e18);
    }
}
