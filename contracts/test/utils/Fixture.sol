// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {Deploy} from "../../script/Deploy.s.sol";
import {ModelToken} from "../../src/ModelToken.sol";
import {ModelGovernor} from "../../src/ModelGovernor.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";

/// @dev Every test starts from the system as contracts/script/Deploy.s.sol deploys it: the fixture runs
/// the script's own {Deploy-deploy} with its {Deploy-defaultConfig} (anvil accounts #0..#4 hold 100k
/// each, the timelock 500k; quorum 4% of 1M = 40k; delay 1 s, period 300 s, extension 60 s, timelock 60 s).
abstract contract Fixture is Test {
    uint256 internal constant DEPLOYER_KEY = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;
    uint256[5] internal HOLDER_KEYS = [
        0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80,
        0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d,
        0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a,
        0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6,
        0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
    ];
    uint8 internal constant AGAINST = 0;
    uint8 internal constant FOR = 1;
    uint8 internal constant ABSTAIN = 2;

    Deploy internal deployScript;
    Deploy.Config internal config;
    ModelToken internal token;
    TimelockController internal timelock;
    ModelGovernor internal governor;
    ModelRegistry internal registry;

    address internal deployer;
    address internal guardian;
    address[5] internal holders;
    address internal outsider = makeAddr("outsider");
    address internal maintainer = makeAddr("maintainer");

    bytes32 internal constant DIGEST_1 = keccak256("manifest v1"); // stands in for a sha256 (an opcode, not a precompile call: keeps vm.prank on the next call)
    bytes32 internal constant DIGEST_2 = keccak256("manifest v2"); // stands in for a sha256 (an opcode, not a precompile call: keeps vm.prank on the next call)
    bytes32 internal constant DIGEST_3 = keccak256("manifest v3"); // stands in for a sha256 (an opcode, not a precompile call: keeps vm.prank on the next call)

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        deployScript = new Deploy();
        config = deployScript.defaultConfig();
        Deploy.Deployment memory d = deployScript.deploy(config, DEPLOYER_KEY);
        token = d.token;
        timelock = d.timelock;
        governor = d.governor;
        registry = d.registry;
        deployer = vm.addr(DEPLOYER_KEY);
        guardian = config.guardian;
        for (uint256 i = 0; i < 5; ++i) {
            holders[i] = vm.addr(HOLDER_KEYS[i]);
        }
        vm.label(address(token), "ModelToken");
        vm.label(address(timelock), "TimelockController");
        vm.label(address(governor), "ModelGovernor");
        vm.label(address(registry), "ModelRegistry");
        vm.label(guardian, "guardian");
    }

    // ---- governance helpers ------------------------------------------------------------------------

    struct Proposal {
        address[] targets;
        uint256[] values;
        bytes[] calldatas;
        string description;
    }

    function _delegateAll() internal {
        for (uint256 i = 0; i < 5; ++i) {
            vm.prank(holders[i]);
            token.delegate(holders[i]);
        }
        vm.warp(block.timestamp + 1);
    }

    function _single(address target, uint256 value, bytes memory data, string memory description)
        internal
        pure
        returns (Proposal memory p)
    {
        p.targets = new address[](1);
        p.targets[0] = target;
        p.values = new uint256[](1);
        p.values[0] = value;
        p.calldatas = new bytes[](1);
        p.calldatas[0] = data;
        p.description = description;
    }

    function _registryCall(bytes memory data, string memory description) internal view returns (Proposal memory) {
        return _single(address(registry), 0, data, description);
    }

    function _id(Proposal memory p) internal view returns (uint256) {
        return governor.hashProposal(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    function _propose(Proposal memory p) internal returns (uint256 proposalId) {
        vm.prank(holders[0]);
        proposalId = governor.propose(p.targets, p.values, p.calldatas, p.description);
    }

    function _queue(Proposal memory p) internal returns (uint256) {
        return governor.queue(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    function _execute(Proposal memory p) internal returns (uint256) {
        return governor.execute(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    /// @dev Proposes, passes (holders #0 and #1 vote For), queues and executes `p`.
    function _pass(Proposal memory p) internal returns (uint256 proposalId) {
        proposalId = _propose(p);
        vm.warp(governor.proposalSnapshot(proposalId) + 1);
        vm.prank(holders[0]);
        governor.castVote(proposalId, FOR);
        vm.prank(holders[1]);
        governor.castVote(proposalId, FOR);
        vm.warp(governor.proposalDeadline(proposalId) + 1);
        _queue(p);
        vm.warp(block.timestamp + timelock.getMinDelay());
        _execute(p);
        assertEq(uint8(governor.state(proposalId)), uint8(IGovernor.ProposalState.Executed));
    }

    // ---- registry helpers (as the timelock, for registry unit tests) -------------------------------

    function _public() internal pure returns (IModelRegistry.AccessRule memory) {
        return IModelRegistry.AccessRule(IModelRegistry.AccessKind.Public, address(0), 0);
    }

    function _register(string memory slug) internal returns (uint256 modelId) {
        vm.prank(address(timelock));
        modelId = registry.registerModel(slug, _public());
    }

    function _publish(uint256 modelId, bytes32 digest, uint32 parent) internal returns (uint32 version) {
        vm.prank(address(timelock));
        version = registry.publishVersion(modelId, digest, parent);
    }
}
