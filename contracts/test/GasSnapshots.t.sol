// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {MockERC20} from "./mocks/Mocks.sol";

/// @dev Named gas snapshots (`vm.snapshotGasLastCall`, as Uniswap v4-core does): the gas of one call,
/// written to contracts/snapshots/<group>.json, so a figure moves only when that call's cost moves, not
/// when a test's setup code changes. Every test is isolated (each call its own transaction, with cold
/// storage and the 21k base), so the figures are what a real transaction pays.
/// `npm run contracts:snapshot` rewrites the files; `npm test` fails when one differs
/// (`FORGE_SNAPSHOT_CHECK=true`, see scripts/test.sh).
/// forge-config: default.isolate = true
contract GasSnapshotTest is Fixture {
    string internal constant REGISTRY = "ModelRegistry";
    string internal constant GOVERNOR = "ModelGovernor";
    string internal constant TOKEN = "ModelToken";

    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        _delegateAll();
        modelId = _register("tiny-lm");
    }

    // ---- registry (as the timelock executes it) ------------------------------------------------------

    function test_gas_registerModel() public {
        vm.prank(address(timelock));
        registry.registerModel("other-model", _public());
        vm.snapshotGasLastCall(REGISTRY, "registerModel");
    }

    function test_gas_publishVersion() public {
        vm.prank(address(timelock));
        registry.publishVersion(modelId, DIGEST_1, 0);
        vm.snapshotGasLastCall(REGISTRY, "publishVersion: first");
        vm.prank(address(timelock));
        registry.publishVersion(modelId, DIGEST_2, 1);
        vm.snapshotGasLastCall(REGISTRY, "publishVersion: next");
    }

    function test_gas_setCurrentVersion() public {
        _publish(modelId, DIGEST_1, 0);
        _publish(modelId, DIGEST_2, 1);
        vm.prank(address(timelock));
        registry.setCurrentVersion(modelId, 1);
        vm.snapshotGasLastCall(REGISTRY, "setCurrentVersion: rollback");
    }

    function test_gas_deprecateVersion() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(address(timelock));
        registry.deprecateVersion(modelId, 1);
        vm.snapshotGasLastCall(REGISTRY, "deprecateVersion: current");
    }

    function test_gas_revokeVersion() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
        vm.snapshotGasLastCall(REGISTRY, "revokeVersion: current, by guardian");
    }

    function test_gas_setAccessRule() public {
        MockERC20 t = new MockERC20();
        vm.prank(address(timelock));
        registry.setAccessRule(
            modelId, IModelRegistry.AccessRule(IModelRegistry.AccessKind.TokenHolders, address(t), 1)
        );
        vm.snapshotGasLastCall(REGISTRY, "setAccessRule: TokenHolders");
    }

    function test_gas_setAllowlist() public {
        address[] memory accounts = new address[](1);
        accounts[0] = outsider;
        vm.prank(address(timelock));
        registry.setAllowlist(modelId, accounts, true);
        vm.snapshotGasLastCall(REGISTRY, "setAllowlist: one account");
    }

    function test_gas_setGuardian() public {
        vm.prank(address(timelock));
        registry.setGuardian(outsider);
        vm.snapshotGasLastCall(REGISTRY, "setGuardian");
    }

    function test_gas_canAccess() public {
        registry.canAccess(modelId, outsider);
        vm.snapshotGasLastCall(REGISTRY, "canAccess: Public");
        vm.prank(address(timelock));
        registry.setAccessRule(
            modelId, IModelRegistry.AccessRule(IModelRegistry.AccessKind.TokenHolders, address(token), 1)
        );
        registry.canAccess(modelId, holders[0]);
        vm.snapshotGasLastCall(REGISTRY, "canAccess: TokenHolders");
    }

    // ---- governor: one publish proposal through its whole life ----------------------------------------

    function test_gas_proposalLifecycle() public {
        Proposal memory p =
            _registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "Publish v1");
        vm.prank(holders[0]);
        uint256 id = governor.propose(p.targets, p.values, p.calldatas, p.description);
        vm.snapshotGasLastCall(GOVERNOR, "propose");

        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: For, reaches quorum");
        vm.prank(holders[1]);
        governor.castVote(id, FOR);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: For, after quorum");
        vm.prank(holders[2]);
        governor.castVote(id, AGAINST);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: Against");

        vm.warp(governor.proposalDeadline(id) + 1);
        _queue(p);
        vm.snapshotGasLastCall(GOVERNOR, "queue");
        vm.warp(block.timestamp + timelock.getMinDelay());
        _execute(p);
        vm.snapshotGasLastCall(GOVERNOR, "execute: publishVersion");
    }

    function test_gas_castVote_lateQuorum() public {
        Proposal memory p =
            _registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "Publish v1");
        uint256 id = _propose(p);
        vm.warp(governor.proposalDeadline(id) - 10);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: For, late quorum extends the deadline");
    }

    // ---- token -----------------------------------------------------------------------------------------

    function test_gas_token() public {
        vm.prank(holders[0]);
        token.transfer(holders[1], 1e18);
        vm.snapshotGasLastCall(TOKEN, "transfer: between delegates");
        vm.prank(outsider);
        token.delegate(holders[2]);
        vm.snapshotGasLastCall(TOKEN, "delegate: no balance");
    }
}
