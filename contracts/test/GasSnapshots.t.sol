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

    /// @dev Abstain counts towards quorum too: an Abstain vote records the extended deadline in the Abstain votes'
    /// slot, which it writes anyway, so with or without a For vote cast before it costs the same.
    function test_gas_castVote_lateQuorum_abstain() public {
        vm.prank(holders[1]);
        token.transfer(outsider, 1e18);
        vm.prank(outsider);
        token.delegate(outsider);
        vm.warp(block.timestamp + 1);
        uint256 afterFor =
            _propose(_registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "a"));
        uint256 noFor =
            _propose(_registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "b"));
        vm.warp(governor.proposalSnapshot(afterFor) + 1);
        vm.prank(outsider);
        governor.castVote(afterFor, FOR); // below quorum
        vm.warp(governor.proposalDeadline(afterFor) - 10);
        vm.prank(holders[0]);
        governor.castVote(afterFor, ABSTAIN);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: Abstain, late quorum extends the deadline, after a For vote");
        vm.prank(holders[0]);
        governor.castVote(noFor, ABSTAIN);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: Abstain, late quorum extends the deadline, no For vote yet");
    }

    /// @dev Quorum was reached early; a vote in the last lateQuorumVoteExtension() seconds cannot extend anything.
    function test_gas_castVote_insideWindowAfterEarlyQuorum() public {
        uint256 id = _propose(_registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "a"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.warp(governor.proposalDeadline(id) - 10);
        vm.prank(holders[1]);
        governor.castVote(id, FOR);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: For, inside the late-quorum window after early quorum");
        vm.prank(holders[2]);
        governor.castVote(id, FOR);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: For, inside the late-quorum window after early quorum, next");
    }

    /// @dev The same with an Abstain vote first in the window: it records in the Abstain votes' slot, so the For vote
    /// after it reads that slot too (cold) before it skips the quorum.
    function test_gas_castVote_insideWindowAfterEarlyQuorum_abstainFirst() public {
        uint256 id = _propose(_registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "a"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.warp(governor.proposalDeadline(id) - 10);
        vm.prank(holders[1]);
        governor.castVote(id, ABSTAIN);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: Abstain, inside the late-quorum window after early quorum");
        vm.prank(holders[2]);
        governor.castVote(id, FOR);
        vm.snapshotGasLastCall(GOVERNOR, "castVote: For, inside the late-quorum window after an Abstain record");
    }

    /// @dev A relayed vote (anyone sends the voter's signed ballot), the voter's first ballot and a later one:
    /// the ballot nonce is checked, not consumed, so the two cost the same (see {ModelGovernor-_validateVoteSig}).
    function test_gas_castVoteBySig() public {
        Proposal memory p1 = _registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0)), "v1");
        Proposal memory p2 = _registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_2, 0)), "v2");
        uint256 id1 = _propose(p1);
        uint256 id2 = _propose(p2);
        vm.warp(governor.proposalSnapshot(id2) + 1);
        vm.prank(holders[0]);
        governor.castVote(id1, FOR);
        vm.prank(holders[0]);
        governor.castVote(id2, FOR);

        bytes memory first = _signBallot(3, id1, AGAINST);
        vm.prank(outsider);
        governor.castVoteBySig(id1, AGAINST, holders[3], first);
        vm.snapshotGasLastCall(GOVERNOR, "castVoteBySig: Against, voter's first ballot");
        bytes memory second = _signBallot(3, id2, AGAINST);
        vm.prank(outsider);
        governor.castVoteBySig(id2, AGAINST, holders[3], second);
        vm.snapshotGasLastCall(GOVERNOR, "castVoteBySig: Against, voter's next ballot");

        string memory reason = "The evals regress on long context.";
        bytes memory extended = _signExtendedBallot(4, id1, AGAINST, reason);
        vm.prank(outsider);
        governor.castVoteWithReasonAndParamsBySig(id1, AGAINST, holders[4], reason, "", extended);
        vm.snapshotGasLastCall(GOVERNOR, "castVoteWithReasonAndParamsBySig: Against, reason, first ballot");
    }

    function _signBallot(uint256 holder, uint256 proposalId, uint8 support) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                governor.BALLOT_TYPEHASH(), proposalId, support, holders[holder], governor.nonces(holders[holder])
            )
        );
        return _sign(holder, structHash);
    }

    function _signExtendedBallot(uint256 holder, uint256 proposalId, uint8 support, string memory reason)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                governor.EXTENDED_BALLOT_TYPEHASH(),
                proposalId,
                support,
                holders[holder],
                governor.nonces(holders[holder]),
                keccak256(bytes(reason)),
                keccak256("")
            )
        );
        return _sign(holder, structHash);
    }

    function _sign(uint256 holder, bytes32 structHash) internal view returns (bytes memory) {
        (,,,, address verifyingContract,,) = governor.eip712Domain();
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("ModelGovernor"),
                keccak256("1"),
                block.chainid,
                verifyingContract
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(HOLDER_KEYS[holder], keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        return abi.encodePacked(r, s, v);
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
