// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Fixture} from "./utils/Fixture.sol";
import {ModelGovernor} from "../src/ModelGovernor.sol";
import {GovernorCountingLateQuorum} from "../src/governance/GovernorCountingLateQuorum.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {BlockNumberVotesToken, ERC1271Wallet} from "./mocks/Mocks.sol";

contract ModelGovernorTest is Fixture {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        _delegateAll();
        modelId = 1;
        _pass(_registryCall(abi.encodeCall(ModelRegistry.registerModel, ("tiny-lm", _public())), "Register tiny-lm"));
        assertEq(registry.modelIdOf("tiny-lm"), modelId);
    }

    function _publishProposal(bytes32 digest, uint32 parent, string memory description)
        internal
        view
        returns (Proposal memory)
    {
        return _registryCall(abi.encodeCall(ModelRegistry.publishVersion, (modelId, digest, parent)), description);
    }

    function _state(uint256 id) internal view returns (IGovernor.ProposalState) {
        return governor.state(id);
    }

    function _assertState(uint256 id, IGovernor.ProposalState expected) internal view {
        assertEq(uint8(governor.state(id)), uint8(expected));
    }

    function _ballotDigest(uint256 proposalId, uint8 support, address voter) internal view returns (bytes32) {
        return _ballotDigest(proposalId, support, voter, governor.nonces(voter));
    }

    function _ballotDigest(uint256 proposalId, uint8 support, address voter, uint256 nonce)
        internal
        view
        returns (bytes32)
    {
        return _typedDigest(keccak256(abi.encode(governor.BALLOT_TYPEHASH(), proposalId, support, voter, nonce)));
    }

    function _extendedBallotDigest(uint256 proposalId, uint8 support, address voter, string memory reason)
        internal
        view
        returns (bytes32)
    {
        return _typedDigest(
            keccak256(
                abi.encode(
                    governor.EXTENDED_BALLOT_TYPEHASH(),
                    proposalId,
                    support,
                    voter,
                    governor.nonces(voter),
                    keccak256(bytes(reason)),
                    keccak256("")
                )
            )
        );
    }

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _typedDigest(bytes32 structHash) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("ModelGovernor"),
                keccak256("1"),
                block.chainid,
                address(governor)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    // ---- construction and clock --------------------------------------------------------------------

    function test_clock_isTimestamp() public view {
        assertEq(governor.clock(), block.timestamp);
        assertEq(governor.CLOCK_MODE(), "mode=timestamp");
    }

    function test_constructor_revertsIfTokenUsesBlockNumbers() public {
        BlockNumberVotesToken blockToken = new BlockNumberVotesToken();
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelGovernor.ModelGovernorUnsupportedClock.selector, "mode=blocknumber&from=default"
            )
        );
        new ModelGovernor(blockToken, timelock, 1, 300, 0, 4, 60, guardian);
    }

    function test_constructor_revertsIfExtensionExceedsPeriod() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                GovernorCountingLateQuorum.GovernorPreventLateQuorumVoteExtensionTooLarge.selector, 301, 300
            )
        );
        new ModelGovernor(token, timelock, 1, 300, 0, 4, 301, guardian);
    }

    // ---- the full lifecycle ------------------------------------------------------------------------

    function test_lifecycle_publishVersion() public {
        Proposal memory p = _publishProposal(DIGEST_1, 0, "Publish tiny-lm v1");
        uint256 id = _propose(p);
        assertEq(id, _id(p));
        _assertState(id, IGovernor.ProposalState.Pending);
        assertEq(governor.proposalProposer(id), holders[0]);

        vm.warp(governor.proposalSnapshot(id) + 1);
        _assertState(id, IGovernor.ProposalState.Active);

        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.expectEmit(address(governor));
        emit IGovernor.VoteCast(holders[1], id, AGAINST, 100_000e18, "The evals regress on long context.");
        vm.prank(holders[1]);
        governor.castVoteWithReason(id, AGAINST, "The evals regress on long context.");
        vm.prank(holders[2]);
        governor.castVoteWithReason(id, ABSTAIN, "Not my area.");
        // holder #3 signs; anyone relays
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(HOLDER_KEYS[3], _ballotDigest(id, FOR, holders[3]));
        vm.prank(outsider);
        governor.castVoteBySig(id, FOR, holders[3], abi.encodePacked(r, s, v));

        assertTrue(governor.hasVoted(id, holders[3]));
        (uint256 against, uint256 forVotes, uint256 abstain) = governor.proposalVotes(id);
        assertEq(against, 100_000e18);
        assertEq(forVotes, 200_000e18);
        assertEq(abstain, 100_000e18);

        vm.warp(governor.proposalDeadline(id) + 1);
        _assertState(id, IGovernor.ProposalState.Succeeded);
        _queue(p);
        _assertState(id, IGovernor.ProposalState.Queued);
        assertEq(governor.proposalEta(id), block.timestamp + 60);

        vm.warp(governor.proposalEta(id));
        vm.expectEmit(address(registry));
        emit IModelRegistry.VersionPublished(modelId, 1, DIGEST_1, 0, uint64(block.timestamp));
        _execute(p);
        _assertState(id, IGovernor.ProposalState.Executed);
        (uint32 current, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(current, 1);
        assertEq(digest, DIGEST_1);
    }

    function test_proposalNeedsQueuing_alwaysThroughTimelock() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        assertTrue(governor.proposalNeedsQueuing(id));
    }

    function test_castVote_revertsIfVotedTwice() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.startPrank(holders[0]);
        governor.castVote(id, FOR);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, holders[0]));
        governor.castVote(id, AGAINST);
        vm.stopPrank();
    }

    // ---- signed ballots (relayed votes): the nonce is checked, not consumed -------------------------

    function test_castVoteBySig_revertsIfSignatureReplayed() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        bytes memory signature = _sig(HOLDER_KEYS[3], _ballotDigest(id, FOR, holders[3]));
        governor.castVoteBySig(id, FOR, holders[3], signature);
        // the nonce is unchanged, so the signature is still valid: the vote itself is refused
        assertEq(governor.nonces(holders[3]), 0);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, holders[3]));
        governor.castVoteBySig(id, FOR, holders[3], signature);
        (, uint256 forVotes,) = governor.proposalVotes(id);
        assertEq(forVotes, 100_000e18);
    }

    function test_castVoteBySig_revertsIfVoterAlreadyVotedDirectly() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        bytes memory signature = _sig(HOLDER_KEYS[3], _ballotDigest(id, FOR, holders[3]));
        vm.prank(holders[3]);
        governor.castVote(id, AGAINST);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, holders[3]));
        governor.castVoteBySig(id, FOR, holders[3], signature);
    }

    function test_castVoteBySig_revertsIfNonceIsNotTheVotersNonce() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        bytes memory signature = _sig(HOLDER_KEYS[3], _ballotDigest(id, FOR, holders[3], 1));
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, holders[3]));
        governor.castVoteBySig(id, FOR, holders[3], signature);
        assertFalse(governor.hasVoted(id, holders[3]));
    }

    function test_castVoteBySig_revertsIfUsedForAnotherProposalOrSupport() public {
        uint256 id1 = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 id2 = _propose(_publishProposal(DIGEST_2, 0, "v2"));
        vm.warp(governor.proposalSnapshot(id2) + 1);
        bytes memory signature = _sig(HOLDER_KEYS[3], _ballotDigest(id1, FOR, holders[3]));
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, holders[3]));
        governor.castVoteBySig(id2, FOR, holders[3], signature);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, holders[3]));
        governor.castVoteBySig(id1, AGAINST, holders[3], signature);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, holders[2]));
        governor.castVoteBySig(id1, FOR, holders[2], signature);
    }

    /// @dev The relay's case: a member signs ballots for two open proposals before either lands (both with the
    /// nonce `nonces(voter)` reads then). With OpenZeppelin's consumed nonce only the first could count.
    function test_castVoteBySig_twoBallotsWithTheSameNonceForTwoProposalsBothCount() public {
        uint256 id1 = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 id2 = _propose(_publishProposal(DIGEST_2, 0, "v2"));
        vm.warp(governor.proposalSnapshot(id2) + 1);
        bytes memory ballot1 = _sig(HOLDER_KEYS[3], _ballotDigest(id1, FOR, holders[3], 0));
        bytes memory ballot2 = _sig(HOLDER_KEYS[3], _ballotDigest(id2, AGAINST, holders[3], 0));
        vm.prank(outsider);
        governor.castVoteBySig(id2, AGAINST, holders[3], ballot2);
        vm.prank(outsider);
        governor.castVoteBySig(id1, FOR, holders[3], ballot1);
        assertTrue(governor.hasVoted(id1, holders[3]));
        assertTrue(governor.hasVoted(id2, holders[3]));
        (uint256 against1, uint256 for1,) = governor.proposalVotes(id1);
        (uint256 against2, uint256 for2,) = governor.proposalVotes(id2);
        assertEq(for1, 100_000e18);
        assertEq(against1, 0);
        assertEq(against2, 100_000e18);
        assertEq(for2, 0);
        assertEq(governor.nonces(holders[3]), 0);
    }

    function test_castVoteWithReasonAndParamsBySig_countsWithReason() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        vm.warp(governor.proposalSnapshot(id) + 1);
        string memory reason = "Relayed: the evals regress on long context.";
        bytes memory signature = _sig(HOLDER_KEYS[3], _extendedBallotDigest(id, AGAINST, holders[3], reason));
        // a reason the voter did not sign is refused
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, holders[3]));
        governor.castVoteWithReasonAndParamsBySig(id, AGAINST, holders[3], "something else", "", signature);

        vm.expectEmit(address(governor));
        emit IGovernor.VoteCast(holders[3], id, AGAINST, 100_000e18, reason);
        vm.prank(outsider);
        governor.castVoteWithReasonAndParamsBySig(id, AGAINST, holders[3], reason, "", signature);
        assertEq(governor.nonces(holders[3]), 0);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, holders[3]));
        governor.castVoteWithReasonAndParamsBySig(id, AGAINST, holders[3], reason, "", signature);
    }

    function test_castVoteBySig_contractWalletVotesWithERC1271() public {
        ERC1271Wallet wallet = new ERC1271Wallet(holders[3]);
        vm.prank(holders[3]);
        token.transfer(address(wallet), 50_000e18);
        vm.prank(holders[3]);
        wallet.delegate(token, address(wallet));
        vm.warp(block.timestamp + 1);
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        vm.warp(governor.proposalSnapshot(id) + 1);

        // signed by someone other than the wallet's owner: the wallet says no
        bytes memory wrong = _sig(HOLDER_KEYS[2], _ballotDigest(id, FOR, address(wallet)));
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidSignature.selector, address(wallet)));
        governor.castVoteBySig(id, FOR, address(wallet), wrong);

        bytes memory signature = _sig(HOLDER_KEYS[3], _ballotDigest(id, FOR, address(wallet)));
        vm.prank(outsider);
        governor.castVoteBySig(id, FOR, address(wallet), signature);
        assertTrue(governor.hasVoted(id, address(wallet)));
        (, uint256 forVotes,) = governor.proposalVotes(id);
        assertEq(forVotes, 50_000e18);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, address(wallet)));
        governor.castVoteBySig(id, FOR, address(wallet), signature);
    }

    // ---- registry changes through governance -------------------------------------------------------

    function test_rollback_toEarlierActiveVersion() public {
        _pass(_publishProposal(DIGEST_1, 0, "v1"));
        _pass(_publishProposal(DIGEST_2, 1, "v2"));
        _pass(_registryCall(abi.encodeCall(ModelRegistry.setCurrentVersion, (modelId, 1)), "Roll back to v1"));
        (uint32 current, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(current, 1);
        assertEq(digest, DIGEST_1);
        assertEq(uint8(registry.getVersion(modelId, 2).status), uint8(IModelRegistry.VersionStatus.Active));
    }

    function test_deprecate_throughGovernance() public {
        _pass(_publishProposal(DIGEST_1, 0, "v1"));
        _pass(_publishProposal(DIGEST_2, 1, "v2"));
        _pass(_registryCall(abi.encodeCall(ModelRegistry.deprecateVersion, (modelId, 1)), "Deprecate v1"));
        assertEq(uint8(registry.getVersion(modelId, 1).status), uint8(IModelRegistry.VersionStatus.Deprecated));
        (uint32 current,) = registry.currentVersion(modelId);
        assertEq(current, 2);
    }

    function test_guardian_revokesAtOnceThenGovernanceSetsAnother() public {
        _pass(_publishProposal(DIGEST_1, 0, "v1"));
        _pass(_publishProposal(DIGEST_2, 1, "v2"));
        vm.prank(guardian);
        registry.revokeVersion(modelId, 2);
        (uint32 current,) = registry.currentVersion(modelId);
        assertEq(current, 0);
        // Governance picks the replacement; the revoked version can never return.
        Proposal memory back =
            _registryCall(abi.encodeCall(ModelRegistry.setCurrentVersion, (modelId, 2)), "Restore v2");
        uint256 id = _propose(back);
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.warp(governor.proposalDeadline(id) + 1);
        _queue(back);
        vm.warp(block.timestamp + 60);
        vm.expectRevert(); // TimelockController: underlying transaction reverted (ModelRegistryVersionNotActive)
        _execute(back);
        _pass(_registryCall(abi.encodeCall(ModelRegistry.setCurrentVersion, (modelId, 1)), "Use v1"));
        (current,) = registry.currentVersion(modelId);
        assertEq(current, 1);
    }

    function test_guardian_cannotPublishOrApprove() public {
        _pass(_publishProposal(DIGEST_1, 0, "v1"));
        vm.startPrank(guardian);
        vm.expectRevert();
        registry.publishVersion(modelId, DIGEST_2, 1);
        vm.expectRevert();
        registry.setCurrentVersion(modelId, 1);
        vm.expectRevert();
        registry.setAccessRule(modelId, _public());
        vm.expectRevert();
        registry.setGuardian(guardian);
        vm.expectRevert();
        governor.setProposalGuardian(outsider);
        vm.stopPrank();
    }

    function test_accessRule_changedThroughGovernance() public {
        IModelRegistry.AccessRule memory rule =
            IModelRegistry.AccessRule(IModelRegistry.AccessKind.TokenHolders, address(token), 1_000e18);
        _pass(_registryCall(abi.encodeCall(ModelRegistry.setAccessRule, (modelId, rule)), "Token holders only"));
        assertTrue(registry.canAccess(modelId, holders[4]));
        assertFalse(registry.canAccess(modelId, outsider));

        address[] memory accounts = new address[](1);
        accounts[0] = outsider;
        Proposal memory p;
        p.targets = new address[](2);
        p.values = new uint256[](2);
        p.calldatas = new bytes[](2);
        p.targets[0] = address(registry);
        p.targets[1] = address(registry);
        p.calldatas[0] = abi.encodeCall(
            ModelRegistry.setAccessRule,
            (modelId, IModelRegistry.AccessRule(IModelRegistry.AccessKind.Allowlist, address(0), 0))
        );
        p.calldatas[1] = abi.encodeCall(ModelRegistry.setAllowlist, (modelId, accounts, true));
        p.description = "Allowlist only";
        _pass(p);
        assertTrue(registry.canAccess(modelId, outsider));
        assertFalse(registry.canAccess(modelId, holders[4]));
    }

    function test_treasuryTransfer_bundledWithPublish() public {
        Proposal memory p;
        p.targets = new address[](2);
        p.values = new uint256[](2);
        p.calldatas = new bytes[](2);
        p.targets[0] = address(token);
        p.calldatas[0] = abi.encodeCall(IERC20.transfer, (maintainer, 5_000e18));
        p.targets[1] = address(registry);
        p.calldatas[1] = abi.encodeCall(ModelRegistry.publishVersion, (modelId, DIGEST_1, 0));
        p.description = "Publish v1 and pay the maintainer";
        _pass(p);
        assertEq(token.balanceOf(maintainer), 5_000e18);
        assertEq(token.balanceOf(address(timelock)), 495_000e18);
        (uint32 current,) = registry.currentVersion(modelId);
        assertEq(current, 1);
    }

    function test_governance_updatesOwnParameters() public {
        Proposal memory p;
        p.targets = new address[](3);
        p.values = new uint256[](3);
        p.calldatas = new bytes[](3);
        p.targets[0] = address(governor);
        p.targets[1] = address(governor);
        p.targets[2] = address(governor);
        p.calldatas[0] = abi.encodeCall(GovernorProposalGuardian.setProposalGuardian, (outsider));
        p.calldatas[1] = abi.encodeCall(GovernorCountingLateQuorum.setLateQuorumVoteExtension, (120));
        p.calldatas[2] = abi.encodeWithSignature("setVotingPeriod(uint32)", uint32(600));
        p.description = "New guardian, longer periods";
        vm.recordLogs();
        _pass(p);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 extensionSet;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(governor)
                    && logs[i].topics[0] == GovernorCountingLateQuorum.LateQuorumVoteExtensionSet.selector
            ) {
                assertEq(logs[i].data, abi.encode(uint64(60), uint64(120)));
                ++extensionSet;
            }
        }
        assertEq(extensionSet, 1, "one LateQuorumVoteExtensionSet(60, 120)");
        assertEq(governor.proposalGuardian(), outsider);
        assertEq(governor.lateQuorumVoteExtension(), 120);
        assertEq(governor.votingPeriod(), 600);

        // The next proposal reaching quorum late gets the new extension.
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1 under the new extension"));
        uint256 deadline = governor.proposalDeadline(id);
        vm.warp(deadline - 10);
        vm.expectEmit(address(governor));
        emit GovernorCountingLateQuorum.ProposalExtended(id, uint64(deadline - 10 + 120));
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        assertEq(governor.proposalDeadline(id), deadline + 110);
    }

    function test_setLateQuorumVoteExtension_revertsIfNotGovernance() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, holders[0]));
        vm.prank(holders[0]);
        governor.setLateQuorumVoteExtension(120);
        assertEq(governor.lateQuorumVoteExtension(), 60);
    }

    function test_setProposalGuardian_revertsIfNotGovernance() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, holders[0]));
        vm.prank(holders[0]);
        governor.setProposalGuardian(outsider);
    }

    // ---- cancellation ------------------------------------------------------------------------------

    function test_guardian_cancelsAtEveryStage() public {
        // Pending
        Proposal memory p1 = _publishProposal(DIGEST_1, 0, "v1 a");
        uint256 id1 = _propose(p1);
        vm.prank(guardian);
        governor.cancel(p1.targets, p1.values, p1.calldatas, keccak256(bytes(p1.description)));
        _assertState(id1, IGovernor.ProposalState.Canceled);

        // Active, then Queued
        Proposal memory p2 = _publishProposal(DIGEST_1, 0, "v1 b");
        uint256 id2 = _propose(p2);
        Proposal memory p3 = _publishProposal(DIGEST_1, 0, "v1 c");
        uint256 id3 = _propose(p3);
        vm.warp(governor.proposalSnapshot(id2) + 1);
        vm.prank(guardian);
        governor.cancel(p2.targets, p2.values, p2.calldatas, keccak256(bytes(p2.description)));
        _assertState(id2, IGovernor.ProposalState.Canceled);

        vm.prank(holders[0]);
        governor.castVote(id3, FOR);
        vm.warp(governor.proposalDeadline(id3) + 1);
        _queue(p3);
        bytes32 operation = timelock.hashOperationBatch(
            p3.targets, p3.values, p3.calldatas, 0, bytes20(address(governor)) ^ keccak256(bytes(p3.description))
        );
        assertTrue(timelock.isOperationPending(operation));
        vm.prank(guardian);
        governor.cancel(p3.targets, p3.values, p3.calldatas, keccak256(bytes(p3.description)));
        _assertState(id3, IGovernor.ProposalState.Canceled);
        assertFalse(timelock.isOperation(operation));
        vm.warp(block.timestamp + 60);
        vm.expectPartialRevert(IGovernor.GovernorUnexpectedProposalState.selector);
        _execute(p3);
    }

    function test_cancel_revertsIfProposerOnceActive() public {
        Proposal memory p = _publishProposal(DIGEST_1, 0, "v1");
        uint256 id = _propose(p);
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, holders[0]));
        vm.prank(holders[0]);
        governor.cancel(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    function test_cancel_byProposerWhilePending() public {
        Proposal memory p = _publishProposal(DIGEST_1, 0, "v1");
        uint256 id = _propose(p);
        vm.prank(holders[0]);
        governor.cancel(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
        _assertState(id, IGovernor.ProposalState.Canceled);
    }

    function test_cancel_revertsIfOutsider() public {
        Proposal memory p = _publishProposal(DIGEST_1, 0, "v1");
        uint256 id = _propose(p);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, outsider));
        vm.prank(outsider);
        governor.cancel(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    // ---- front-running protection ------------------------------------------------------------------

    function test_propose_revertsIfDescriptionNamesAnotherProposer() public {
        string memory description = string.concat("Publish v1#proposer=", Strings.toHexString(holders[0]));
        Proposal memory p = _publishProposal(DIGEST_1, 0, description);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorRestrictedProposer.selector, holders[1]));
        vm.prank(holders[1]);
        governor.propose(p.targets, p.values, p.calldatas, p.description);
        // the named proposer may
        uint256 id = _propose(p);
        assertEq(governor.proposalProposer(id), holders[0]);
    }

    // ---- thresholds and boundaries -----------------------------------------------------------------

    function test_propose_thresholdBoundary() public {
        vm.prank(holders[4]);
        token.transfer(maintainer, 1_000e18 - 1);
        vm.prank(maintainer);
        token.delegate(maintainer);
        vm.warp(block.timestamp + 1);
        Proposal memory p = _publishProposal(DIGEST_1, 0, "v1");
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, maintainer, 1_000e18 - 1, 1_000e18
            )
        );
        vm.prank(maintainer);
        governor.propose(p.targets, p.values, p.calldatas, p.description);

        vm.prank(holders[4]);
        token.transfer(maintainer, 1);
        vm.warp(block.timestamp + 1);
        vm.prank(maintainer);
        governor.propose(p.targets, p.values, p.calldatas, p.description);
    }

    function test_state_snapshotBoundary() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 snapshot = governor.proposalSnapshot(id);
        assertEq(snapshot, block.timestamp + 1);
        vm.warp(snapshot);
        _assertState(id, IGovernor.ProposalState.Pending);
        vm.expectPartialRevert(IGovernor.GovernorUnexpectedProposalState.selector);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.warp(snapshot + 1);
        _assertState(id, IGovernor.ProposalState.Active);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
    }

    function test_state_deadlineBoundary() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 deadline = governor.proposalDeadline(id);
        assertEq(deadline, governor.proposalSnapshot(id) + 300);
        vm.warp(deadline - 100);
        vm.prank(holders[0]);
        governor.castVote(id, FOR); // quorum reached early: no extension
        assertEq(governor.proposalDeadline(id), deadline);
        vm.warp(deadline);
        _assertState(id, IGovernor.ProposalState.Active);
        vm.prank(holders[1]);
        governor.castVote(id, FOR);
        vm.warp(deadline + 1);
        _assertState(id, IGovernor.ProposalState.Succeeded);
        vm.expectPartialRevert(IGovernor.GovernorUnexpectedProposalState.selector);
        vm.prank(holders[2]);
        governor.castVote(id, AGAINST);
    }

    function test_state_etaBoundary() public {
        Proposal memory p = _publishProposal(DIGEST_1, 0, "v1");
        uint256 id = _propose(p);
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.warp(governor.proposalDeadline(id) + 1);
        _queue(p);
        uint256 eta = governor.proposalEta(id);
        vm.warp(eta - 1);
        vm.expectPartialRevert(TimelockController.TimelockUnexpectedOperationState.selector);
        _execute(p);
        vm.warp(eta);
        _execute(p);
        _assertState(id, IGovernor.ProposalState.Executed);
    }

    function test_quorumBoundary() public {
        // quorum = 4% of 1,000,000 = 40,000 tokens; the voter below holds exactly what the case needs
        uint256 quorum = governor.quorum(block.timestamp - 1);
        assertEq(quorum, 40_000e18);
        vm.prank(holders[4]);
        token.transfer(maintainer, quorum - 1);
        vm.prank(maintainer);
        token.delegate(maintainer);
        vm.warp(block.timestamp + 1);

        Proposal memory below = _publishProposal(DIGEST_1, 0, "below quorum");
        uint256 idBelow = _propose(below);
        vm.warp(governor.proposalSnapshot(idBelow) + 1);
        vm.prank(maintainer);
        governor.castVote(idBelow, FOR);
        vm.warp(governor.proposalDeadline(idBelow) + 1);
        _assertState(idBelow, IGovernor.ProposalState.Defeated);

        vm.prank(holders[4]);
        token.transfer(maintainer, 1);
        vm.warp(block.timestamp + 1);
        Proposal memory at = _publishProposal(DIGEST_1, 0, "at quorum");
        uint256 idAt = _propose(at);
        vm.warp(governor.proposalSnapshot(idAt) + 1);
        vm.prank(maintainer);
        governor.castVote(idAt, FOR);
        vm.warp(governor.proposalDeadline(idAt) + 1);
        _assertState(idAt, IGovernor.ProposalState.Succeeded);
    }

    // ---- late quorum -------------------------------------------------------------------------------

    function test_lateQuorum_extendsDeadline() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 deadline = governor.proposalDeadline(id);
        vm.warp(deadline - 10);
        vm.expectEmit(address(governor));
        emit GovernorCountingLateQuorum.ProposalExtended(id, uint64(deadline - 10 + 60));
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        assertEq(governor.proposalDeadline(id), deadline + 50);

        // Still open after the original deadline: the other side can answer.
        vm.warp(deadline + 50);
        _assertState(id, IGovernor.ProposalState.Active);
        vm.prank(holders[1]);
        governor.castVote(id, AGAINST);
        vm.prank(holders[2]);
        governor.castVote(id, AGAINST);
        assertEq(governor.proposalDeadline(id), deadline + 50); // no second extension
        vm.warp(deadline + 51);
        _assertState(id, IGovernor.ProposalState.Defeated);
    }

    function test_lateQuorum_windowBoundary() public {
        // quorum at deadline - 60: t + 60 == deadline, no extension
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "a"));
        uint256 deadline = governor.proposalDeadline(id);
        vm.warp(deadline - 60);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        assertEq(governor.proposalDeadline(id), deadline);

        // quorum at deadline - 59: extended by one second
        uint256 id2 = _propose(_publishProposal(DIGEST_1, 0, "b"));
        uint256 deadline2 = governor.proposalDeadline(id2);
        vm.warp(deadline2 - 59);
        vm.prank(holders[0]);
        governor.castVote(id2, FOR);
        assertEq(governor.proposalDeadline(id2), deadline2 + 1);
    }

    function test_lateQuorum_earlyQuorumThenLateVotesDoNotExtend() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 deadline = governor.proposalDeadline(id);
        vm.warp(governor.proposalSnapshot(id) + 1);
        vm.prank(holders[0]);
        governor.castVote(id, FOR);
        vm.warp(deadline - 5);
        vm.prank(holders[1]);
        governor.castVote(id, FOR);
        vm.prank(holders[2]);
        governor.castVote(id, ABSTAIN);
        assertEq(governor.proposalDeadline(id), deadline);
    }

    function test_lateQuorum_againstVotesNeverExtend() public {
        uint256 id = _propose(_publishProposal(DIGEST_1, 0, "v1"));
        uint256 deadline = governor.proposalDeadline(id);
        vm.warp(deadline - 5);
        vm.prank(holders[0]);
        governor.castVote(id, AGAINST);
        assertEq(governor.proposalDeadline(id), deadline);
        vm.prank(holders[1]);
        governor.castVote(id, ABSTAIN); // abstain counts towards quorum
        assertEq(governor.proposalDeadline(id), deadline - 5 + 60);
    }
}
