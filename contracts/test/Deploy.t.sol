// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {Deploy} from "../script/Deploy.s.sol";

/// @dev The wiring the deploy script leaves behind: every permission sits with the timelock.
contract DeployTest is Fixture {
    function test_roles_timelockOwnsRegistry() public view {
        assertEq(registry.owner(), address(timelock));
    }

    function test_roles_governorIsSoleProposerAndCanceller() public view {
        assertTrue(timelock.hasRole(timelock.PROPOSER_ROLE(), address(governor)));
        assertTrue(timelock.hasRole(timelock.CANCELLER_ROLE(), address(governor)));
        assertFalse(timelock.hasRole(timelock.PROPOSER_ROLE(), deployer));
        assertFalse(timelock.hasRole(timelock.CANCELLER_ROLE(), deployer));
        assertFalse(timelock.hasRole(timelock.PROPOSER_ROLE(), guardian));
        assertFalse(timelock.hasRole(timelock.CANCELLER_ROLE(), guardian));
    }

    function test_roles_anyoneMayExecute() public view {
        assertTrue(timelock.hasRole(timelock.EXECUTOR_ROLE(), address(0)));
    }

    function test_roles_noAdminLeft() public view {
        bytes32 admin = timelock.DEFAULT_ADMIN_ROLE();
        assertFalse(timelock.hasRole(admin, deployer));
        assertFalse(timelock.hasRole(admin, address(governor)));
        assertFalse(timelock.hasRole(admin, address(deployScript)));
        // The timelock administers itself: role changes need an executed proposal.
        assertTrue(timelock.hasRole(admin, address(timelock)));
    }

    function test_roles_governorHoldsNoRegistryPower() public view {
        assertTrue(registry.owner() != address(governor));
        assertTrue(registry.guardian() != address(governor));
    }

    function test_roles_guardianSet() public view {
        assertEq(registry.guardian(), guardian);
        assertEq(governor.proposalGuardian(), guardian);
        assertEq(guardian, 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720);
    }

    function test_deploy_governanceParameters() public view {
        assertEq(governor.votingDelay(), 1);
        assertEq(governor.votingPeriod(), 300);
        assertEq(governor.proposalThreshold(), 1_000e18);
        assertEq(governor.quorumNumerator(), 4);
        assertEq(governor.lateQuorumVoteExtension(), 60);
        assertEq(timelock.getMinDelay(), 60);
        assertEq(address(governor.token()), address(token));
        assertEq(governor.timelock(), address(timelock));
        assertEq(governor.name(), "ModelGovernor");
    }

    function test_deploy_distribution() public view {
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(token.balanceOf(holders[i]), 100_000e18);
        }
        assertEq(token.balanceOf(address(timelock)), 500_000e18);
        assertEq(token.totalSupply(), 1_000_000e18);
        assertEq(token.balanceOf(address(deployScript)), 0);
    }

    function test_deploymentRecord_shape() public {
        Deploy.Deployment memory d = Deploy.Deployment(token, timelock, governor, registry, 42);
        string memory json = deployScript.deploymentRecord(config, d);
        assertEq(vm.parseJsonUint(json, ".chainId"), block.chainid);
        assertEq(vm.parseJsonUint(json, ".deployBlock"), 42);
        assertEq(vm.parseJsonAddress(json, ".contracts.ModelToken"), address(token));
        assertEq(vm.parseJsonAddress(json, ".contracts.ModelGovernor"), address(governor));
        assertEq(vm.parseJsonAddress(json, ".contracts.TimelockController"), address(timelock));
        assertEq(vm.parseJsonAddress(json, ".contracts.ModelRegistry"), address(registry));
        assertEq(vm.parseJsonAddress(json, ".guardian"), guardian);
        assertEq(vm.parseJsonUint(json, ".governance.votingDelay"), 1);
        assertEq(vm.parseJsonUint(json, ".governance.votingPeriod"), 300);
        assertEq(vm.parseJsonString(json, ".governance.proposalThreshold"), "1000000000000000000000");
        assertEq(vm.parseJsonUint(json, ".governance.quorumNumerator"), 4);
        assertEq(vm.parseJsonUint(json, ".governance.lateQuorumExtension"), 60);
        assertEq(vm.parseJsonUint(json, ".governance.timelockDelay"), 60);
    }

    function test_deploy_recordsBlockAfterHead() public {
        vm.roll(100);
        Deploy.Deployment memory d = deployScript.deploy(config, DEPLOYER_KEY);
        assertEq(d.deployBlock, 101);
    }

    function test_configFromEnv_defaultsMatchDefaultConfig() public view {
        // The test process sets none of the variables.
        Deploy.Config memory fromEnv = deployScript.configFromEnv();
        assertEq(fromEnv.votingPeriod, config.votingPeriod);
        assertEq(fromEnv.proposalThreshold, config.proposalThreshold);
        assertEq(fromEnv.guardian, config.guardian);
        assertEq(fromEnv.recipients.length, 5);
        assertEq(fromEnv.treasuryAmount, 500_000e18);
    }

    function test_configFromEnv_requiresEveryParameterOffTheLocalChain() public {
        vm.chainId(1);
        vm.expectRevert(bytes("VOTING_DELAY must be set: local-chain defaults apply only on chain 31337"));
        deployScript.configFromEnv();
    }
}
