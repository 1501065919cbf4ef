// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Test.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorPreventLateQuorum} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ModelToken} from "../src/ModelToken.sol";
import {GovernorCountingLateQuorum} from "../src/governance/GovernorCountingLateQuorum.sol";
import {ModelGovernorHarness} from "./mocks/ModelGovernorHarness.sol";
import {InflatedVotesToken} from "./mocks/Mocks.sol";
import {LateQuorumSystem} from "./utils/LateQuorumSystem.sol";

/// @dev Differential test: ModelGovernor counts votes and extends deadlines with its own module
/// (GovernorCountingLateQuorum: the extended deadline packed with forVotes, bookkeeping skipped where it cannot
/// move a deadline). Under fuzzed balances, quorum, extension, vote order, supports and timing, its deadlines,
/// states, tallies, hasVoted and ProposalExtended events must equal those of the same composition built from
/// OpenZeppelin's GovernorCountingSimple and GovernorPreventLateQuorum (ReferenceGovernor).
contract LateQuorumDifferentialTest is LateQuorumSystem {
    /// @dev A digest of `emitter`'s ProposalExtended events (proposal, deadline, and place among `emitter`'s logs),
    /// their number and the number of `emitter`'s logs.
    function _extendedEvents(Vm.Log[] memory logs, address emitter)
        internal
        pure
        returns (bytes32 digest, uint256 n, uint256 emitted)
    {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != emitter) continue;
            if (logs[i].topics[0] == GovernorPreventLateQuorum.ProposalExtended.selector) {
                digest = keccak256(abi.encode(digest, logs[i].topics[1], logs[i].data, emitted));
                ++n;
            }
            ++emitted;
        }
    }

    function test_events_sameSignaturesAsOpenZeppelin() public pure {
        assertEq(
            GovernorCountingLateQuorum.ProposalExtended.selector, GovernorPreventLateQuorum.ProposalExtended.selector
        );
        assertEq(
            GovernorCountingLateQuorum.LateQuorumVoteExtensionSet.selector,
            GovernorPreventLateQuorum.LateQuorumVoteExtensionSet.selector
        );
        assertEq(
            GovernorCountingLateQuorum.GovernorPreventLateQuorumVoteExtensionTooLarge.selector,
            GovernorPreventLateQuorum.GovernorPreventLateQuorumVoteExtensionTooLarge.selector
        );
    }

    function _assertSameTally(uint256 idA, uint256 idB) internal view {
        (uint256 againstA, uint256 forA, uint256 abstainA) = modeldao.proposalVotes(idA);
        (uint256 againstB, uint256 forB, uint256 abstainB) = referenceGovernor.proposalVotes(idB);
        assertEq(againstA, againstB, "againstVotes");
        assertEq(forA, forB, "forVotes");
        assertEq(abstainA, abstainB, "abstainVotes");
        for (uint256 i = 0; i < VOTERS; ++i) {
            assertEq(modeldao.hasVoted(idA, voters[i]), referenceGovernor.hasVoted(idB, voters[i]), "hasVoted");
        }
    }

    function testFuzz_lateQuorum_matchesUnmodifiedExtension(
        uint256[VOTERS] memory balances,
        uint256 quorumNumerator,
        uint256 extension,
        uint256[8] memory steps
    ) public {
        for (uint256 i = 0; i < VOTERS; ++i) {
            balances[i] = bound(balances[i], 0, 1_000_000e18);
        }
        quorumNumerator = bound(quorumNumerator, 1, 60);
        extension = bound(extension, 0, PERIOD);
        _setUpSystem(balances, quorumNumerator, uint48(extension));
        uint256 idA = _propose(modeldao, "differential");
        uint256 idB = _propose(referenceGovernor, "differential");
        assertEq(idA, idB, "a proposal id does not depend on the governor");
        assertEq(modeldao.COUNTING_MODE(), referenceGovernor.COUNTING_MODE());
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
            // 3 is not a vote type: both governors must refuse it alike.
            _voteOnBoth(idA, idB, voters[(step >> 8) % VOTERS], uint8((step >> 12) % 4));
        }
        vm.warp(referenceGovernor.proposalDeadline(idB) + 1);
        assertEq(uint8(modeldao.state(idA)), uint8(referenceGovernor.state(idB)), "final state");
    }

    /// @dev `voter` casts the same vote on both governors: same outcome, deadline, state, tally and events.
    function _voteOnBoth(uint256 idA, uint256 idB, address voter, uint8 support) internal {
        vm.recordLogs();
        vm.prank(voter);
        (bool okA,) = address(modeldao).call(abi.encodeCall(IGovernor.castVote, (idA, support)));
        vm.prank(voter);
        (bool okB,) = address(referenceGovernor).call(abi.encodeCall(IGovernor.castVote, (idB, support)));
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(okA, okB, "vote accepted by one governor only");
        assertEq(modeldao.proposalDeadline(idA), referenceGovernor.proposalDeadline(idB), "deadline");
        assertEq(uint8(modeldao.state(idA)), uint8(referenceGovernor.state(idB)), "state");
        _assertSameTally(idA, idB);
        // Same ProposalExtended events, at the same place among the vote's logs (after VoteCast).
        (bytes32 eventsA, uint256 nA, uint256 logsA) = _extendedEvents(logs, address(modeldao));
        (bytes32 eventsB, uint256 nB, uint256 logsB) = _extendedEvents(logs, address(referenceGovernor));
        assertEq(nA, nB, "ProposalExtended count");
        assertEq(logsA, logsB, "number of logs");
        assertEq(eventsA, eventsB, "ProposalExtended payload and position");
    }

    /// @dev A scripted vote: `voter` (index) casts `support` at `time` seconds relative to the deadline (negative:
    /// before it).
    struct Ballot {
        int256 time;
        uint256 voter;
        uint8 support;
    }

    /// @dev Runs `ballots` on a fresh proposal of each governor, checking each vote (see {_voteOnBoth}), then the
    /// final state.
    function _runScript(string memory description, Ballot[] memory ballots) internal {
        uint256 idA = _propose(modeldao, description);
        uint256 idB = _propose(referenceGovernor, description);
        uint256 deadline = referenceGovernor.proposalDeadline(idB);
        for (uint256 i = 0; i < ballots.length; ++i) {
            uint256 time = uint256(int256(deadline) + ballots[i].time);
            if (time > block.timestamp) vm.warp(time);
            _voteOnBoth(idA, idB, voters[ballots[i].voter], ballots[i].support);
        }
        vm.warp(referenceGovernor.proposalDeadline(idB));
        assertEq(uint8(modeldao.state(idA)), uint8(IGovernor.ProposalState.Active), "open until the deadline");
        vm.warp(referenceGovernor.proposalDeadline(idB) + 1);
        assertEq(uint8(modeldao.state(idA)), uint8(referenceGovernor.state(idB)), "final state");
    }

    /// @dev The records an Abstain vote makes in its own slot, against OpenZeppelin's composition. Voter 0 holds
    /// 200k, voters 1-2 50k each, voters 3-5 10k each, 1M never votes; quorum 10% (133k); extension 60 s, period
    /// 300 s (each proposal's voting starts 299 s before its deadline).
    function test_lateQuorum_abstainRecords_matchOpenZeppelin() public {
        uint256[VOTERS] memory amounts = [uint256(200_000e18), 50_000e18, 50_000e18, 10_000e18, 10_000e18, 10_000e18];
        _setUpSystem(amounts, 10, 60);
        uint8 against = 0;
        uint8 for_ = 1;
        uint8 abstain = 2;

        // Abstain reaches quorum late with no For vote cast, then For votes inside the window and the extension.
        Ballot[] memory noFor = new Ballot[](4);
        noFor[0] = Ballot(-10, 0, abstain);
        noFor[1] = Ballot(-5, 1, for_);
        noFor[2] = Ballot(20, 2, for_);
        noFor[3] = Ballot(30, 3, abstain);
        _runScript("abstain, no For vote", noFor);

        // Abstain reaches quorum late after For votes below quorum; a later Abstain and Against.
        Ballot[] memory afterFor = new Ballot[](5);
        afterFor[0] = Ballot(-250, 1, for_);
        afterFor[1] = Ballot(-100, 3, against);
        afterFor[2] = Ballot(-20, 0, abstain);
        afterFor[3] = Ballot(-1, 2, abstain);
        afterFor[4] = Ballot(39, 4, against);
        _runScript("abstain after For", afterFor);

        // Abstain below quorum in the window, then a For vote reaches it: the record is the For vote's.
        Ballot[] memory forAfterAbstain = new Ballot[](4);
        forAfterAbstain[0] = Ballot(-50, 1, abstain);
        forAfterAbstain[1] = Ballot(-30, 0, for_);
        forAfterAbstain[2] = Ballot(-10, 2, abstain);
        forAfterAbstain[3] = Ballot(25, 3, for_);
        _runScript("For after Abstain", forAfterAbstain);

        // Quorum reached early by Abstain; in the window an Abstain vote records the own deadline, For votes follow.
        Ballot[] memory early = new Ballot[](4);
        early[0] = Ballot(-290, 0, abstain);
        early[1] = Ballot(-30, 1, abstain);
        early[2] = Ballot(-20, 2, for_);
        early[3] = Ballot(-1, 3, for_);
        _runScript("early quorum, Abstain records", early);
    }
}

/// @dev What the votes record for a deadline (ModelGovernorHarness reads it), and forVotes at the edge of its
/// uint208 slot share. Balances: voter 0 holds 200k, voters 1-2 50k each, voters 3-5 10k each, 1M never votes;
/// quorum 10% of 1.33M = 133k, so voter 0 reaches it alone; extension 60 s.
contract LateQuorumRecordTest is LateQuorumSystem {
    uint48 internal constant EXTENSION = 60;

    function setUp() public {
        uint256[VOTERS] memory amounts = [uint256(200_000e18), 50_000e18, 50_000e18, 10_000e18, 10_000e18, 10_000e18];
        _setUpSystem(amounts, 10, EXTENSION);
    }

    function _vote(uint256 id, uint256 voter, uint8 support) internal {
        vm.prank(voters[voter]);
        modeldao.castVote(id, support);
    }

    function _countExtended(Vm.Log[] memory logs) internal view returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(modeldao)
                    && logs[i].topics[0] == GovernorCountingLateQuorum.ProposalExtended.selector
            ) ++n;
        }
    }

    function test_lateQuorum_forAndAbstainExtendAlike() public {
        uint256 byFor = _propose(modeldao, "for");
        uint256 byAbstain = _propose(modeldao, "abstain");
        uint256 byAbstainAfterFor = _propose(modeldao, "abstain after for");
        uint256 deadline = modeldao.proposalDeadline(byFor);
        vm.warp(modeldao.proposalSnapshot(byFor) + 1);
        _vote(byAbstainAfterFor, 3, 1); // For, below quorum
        vm.warp(deadline - 10);

        vm.expectEmit(address(modeldao));
        emit GovernorCountingLateQuorum.ProposalExtended(byFor, uint64(deadline - 10 + EXTENSION));
        _vote(byFor, 0, 1);
        vm.expectEmit(address(modeldao));
        emit GovernorCountingLateQuorum.ProposalExtended(byAbstain, uint64(deadline - 10 + EXTENSION));
        _vote(byAbstain, 0, 2);
        vm.expectEmit(address(modeldao));
        emit GovernorCountingLateQuorum.ProposalExtended(byAbstainAfterFor, uint64(deadline - 10 + EXTENSION));
        _vote(byAbstainAfterFor, 0, 2);

        uint256[3] memory ids = [byFor, byAbstain, byAbstainAfterFor];
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(modeldao.proposalDeadline(ids[i]), deadline + 50, "extended by 50 s");
            assertEq(modeldao.recordedDeadline(ids[i]), deadline + 50, "record");
            assertEq(modeldao.baseDeadline(ids[i]), deadline, "the proposal's own deadline is unchanged");
        }
        // The record is in the slot of the tally the vote reaching quorum added to.
        (uint48 recordByFor, uint48 recordByAbstain) = modeldao.recordedDeadlines(byFor);
        assertEq(recordByFor, deadline + 50);
        assertEq(recordByAbstain, 0);
        for (uint256 i = 1; i < 3; ++i) {
            (recordByFor, recordByAbstain) = modeldao.recordedDeadlines(ids[i]);
            assertEq(recordByFor, 0, "nothing in the For votes' slot");
            assertEq(recordByAbstain, deadline + 50, "in the Abstain votes' slot");
        }
        // The records share the tallies' slots: the tallies read back whole.
        (uint256 against, uint256 forVotes, uint256 abstain) = modeldao.proposalVotes(byFor);
        assertEq(against, 0);
        assertEq(forVotes, 200_000e18);
        assertEq(abstain, 0);
        (, forVotes, abstain) = modeldao.proposalVotes(byAbstain);
        assertEq(forVotes, 0);
        assertEq(abstain, 200_000e18);
        (, forVotes, abstain) = modeldao.proposalVotes(byAbstainAfterFor);
        assertEq(forVotes, 10_000e18);
        assertEq(abstain, 200_000e18);
    }

    function test_lateQuorum_votesAfterTheExtensionAreCountedAndExtendNoFurther() public {
        uint256 id = _propose(modeldao, "p");
        uint256 deadline = modeldao.proposalDeadline(id);
        vm.warp(deadline - 10);
        _vote(id, 0, 1);
        assertEq(modeldao.proposalDeadline(id), deadline + 50);

        // After the original deadline, inside the extension: every kind of vote counts, none extends again.
        vm.warp(deadline + 40);
        vm.recordLogs();
        _vote(id, 1, 0);
        _vote(id, 2, 1);
        _vote(id, 3, 2);
        assertEq(_countExtended(vm.getRecordedLogs()), 0, "no second ProposalExtended");
        assertEq(modeldao.proposalDeadline(id), deadline + 50);
        assertEq(modeldao.recordedDeadline(id), deadline + 50);
        (uint256 against, uint256 forVotes, uint256 abstain) = modeldao.proposalVotes(id);
        assertEq(against, 50_000e18);
        assertEq(forVotes, 250_000e18);
        assertEq(abstain, 10_000e18);
        assertTrue(modeldao.hasVoted(id, voters[3]));

        vm.warp(deadline + 50);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Active));
        vm.warp(deadline + 51);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Succeeded));
        vm.prank(voters[4]);
        vm.expectRevert(); // GovernorUnexpectedProposalState: voting is over
        modeldao.castVote(id, 1);
    }

    function test_lateQuorum_earlyQuorumRecordsNoExtension() public {
        uint256 id = _propose(modeldao, "p");
        uint256 deadline = modeldao.proposalDeadline(id);
        vm.warp(modeldao.proposalSnapshot(id) + 1);
        vm.recordLogs();
        _vote(id, 0, 1); // quorum, long before the window
        assertEq(modeldao.recordedDeadline(id), 0, "nothing recorded before the window");

        vm.warp(deadline - 10);
        _vote(id, 4, 0); // an Against vote records nothing
        assertEq(modeldao.recordedDeadline(id), 0);
        _vote(id, 1, 1); // a For vote in the window records the deadline itself: later votes skip the quorum
        assertEq(modeldao.recordedDeadline(id), deadline);
        _vote(id, 2, 2);
        _vote(id, 3, 1);
        (uint48 byFor, uint48 byAbstain) = modeldao.recordedDeadlines(id);
        assertEq(byFor, deadline);
        assertEq(byAbstain, 0, "a later vote records nothing more");
        assertEq(_countExtended(vm.getRecordedLogs()), 0, "no ProposalExtended");
        assertEq(modeldao.proposalDeadline(id), deadline);
        vm.warp(deadline + 1);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Succeeded));
    }

    function test_lateQuorum_earlyQuorumRecordedByAnAbstainVote() public {
        uint256 id = _propose(modeldao, "p");
        uint256 deadline = modeldao.proposalDeadline(id);
        vm.warp(modeldao.proposalSnapshot(id) + 1);
        vm.recordLogs();
        _vote(id, 0, 2); // quorum, by Abstain, long before the window
        vm.warp(deadline - 10);
        _vote(id, 1, 2); // an Abstain vote in the window records the deadline itself, in its own slot
        (uint48 byFor, uint48 byAbstain) = modeldao.recordedDeadlines(id);
        assertEq(byFor, 0);
        assertEq(byAbstain, deadline);
        _vote(id, 2, 1); // a For vote after it records nothing (the quorum is not computed again)
        _vote(id, 3, 2);
        (byFor, byAbstain) = modeldao.recordedDeadlines(id);
        assertEq(byFor, 0, "For vote after an Abstain record");
        assertEq(byAbstain, deadline);
        assertEq(_countExtended(vm.getRecordedLogs()), 0, "no ProposalExtended");
        assertEq(modeldao.proposalDeadline(id), deadline);
        vm.warp(deadline + 1);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Succeeded));
    }

    /// @dev Abstain votes alone reach quorum late; the For votes cast after it (inside the window, then inside the
    /// extension) neither record nor extend again, and the proposal stays open until the Abstain record.
    function test_lateQuorum_forVotesAfterAnAbstainExtension() public {
        uint256 id = _propose(modeldao, "p");
        uint256 deadline = modeldao.proposalDeadline(id);
        vm.warp(deadline - 30);
        _vote(id, 1, 2); // 50k Abstain, below quorum
        vm.warp(deadline - 20);
        vm.expectEmit(address(modeldao));
        emit GovernorCountingLateQuorum.ProposalExtended(id, uint64(deadline - 20 + EXTENSION));
        _vote(id, 0, 2); // 250k: quorum, late
        assertEq(modeldao.proposalDeadline(id), deadline + 40);

        vm.recordLogs();
        vm.warp(deadline - 5); // inside the window: the record is found, the quorum is not computed
        _vote(id, 2, 1);
        vm.warp(deadline + 30); // after the proposal's own deadline, inside the extension
        _vote(id, 3, 1);
        _vote(id, 4, 0);
        assertEq(_countExtended(vm.getRecordedLogs()), 0, "no second ProposalExtended");
        (uint48 byFor, uint48 byAbstain) = modeldao.recordedDeadlines(id);
        assertEq(byFor, 0);
        assertEq(byAbstain, deadline + 40);
        assertEq(modeldao.proposalDeadline(id), deadline + 40);
        (uint256 against, uint256 forVotes, uint256 abstain) = modeldao.proposalVotes(id);
        assertEq(against, 10_000e18);
        assertEq(forVotes, 60_000e18);
        assertEq(abstain, 250_000e18);

        vm.warp(deadline + 40);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Active));
        vm.warp(deadline + 41);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Succeeded));
    }

    function test_lateQuorum_newExtensionAppliesToLaterVotes() public {
        uint256 id = _propose(modeldao, "p");
        uint256 deadline = modeldao.proposalDeadline(id);
        vm.warp(deadline - 100);
        vm.expectEmit(address(modeldao));
        emit GovernorCountingLateQuorum.LateQuorumVoteExtensionSet(EXTENSION, 120);
        modeldao.setLateQuorumVoteExtensionForTest(120);
        _vote(id, 0, 1);
        assertEq(modeldao.proposalDeadline(id), deadline + 20);
        // Shrinking the extension afterwards leaves the recorded deadline alone.
        modeldao.setLateQuorumVoteExtensionForTest(0);
        assertEq(modeldao.proposalDeadline(id), deadline + 20);
    }

    function test_setLateQuorumVoteExtension_revertsAboveTheVotingPeriod() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                GovernorCountingLateQuorum.GovernorPreventLateQuorumVoteExtensionTooLarge.selector, PERIOD + 1, PERIOD
            )
        );
        modeldao.setLateQuorumVoteExtensionForTest(PERIOD + 1);
    }

    function test_castVote_revertsOnAnUnknownVoteType() public {
        uint256 id = _propose(modeldao, "p");
        vm.warp(modeldao.proposalSnapshot(id) + 1);
        vm.expectRevert(IGovernor.GovernorInvalidVoteType.selector);
        _vote(id, 0, 3);
        assertFalse(modeldao.hasVoted(id, voters[0]));
    }
}

/// @dev With a quorum of 0 no vote "reaches" quorum, so no deadline moves (OpenZeppelin's GovernorPreventLateQuorum
/// would extend at the first vote cast in the window, of any support): a documented difference, pinned here.
contract LateQuorumZeroQuorumTest is LateQuorumSystem {
    function test_lateQuorum_zeroQuorumNeverExtends() public {
        uint256[VOTERS] memory amounts = [uint256(100e18), 100e18, 100e18, 100e18, 100e18, 100e18];
        _setUpSystem(amounts, 0, 60);
        uint256 id = _propose(modeldao, "no quorum");
        uint256 deadline = modeldao.proposalDeadline(id);
        vm.warp(deadline - 10);
        vm.prank(voters[0]);
        modeldao.castVote(id, 1);
        vm.prank(voters[1]);
        modeldao.castVote(id, 2);
        assertEq(modeldao.proposalDeadline(id), deadline);
        vm.warp(deadline + 1);
        assertEq(uint8(modeldao.state(id)), uint8(IGovernor.ProposalState.Succeeded));
    }
}

/// @dev forVotes and abstainVotes are uint208s, each sharing its slot with a recorded deadline. An ERC20Votes token's
/// total supply is at most type(uint208).max, so the For (Abstain) votes of one proposal fit; a token that reports
/// more is refused, not wrapped.
contract LateQuorumForVotesLimitTest is LateQuorumSystem {
    function test_forVotes_reachTheUint208MaximumWithoutTouchingTheDeadline() public {
        _reachTheUint208Maximum(1);
    }

    function test_abstainVotes_reachTheUint208MaximumWithoutTouchingTheDeadline() public {
        _reachTheUint208Maximum(2);
    }

    function _reachTheUint208Maximum(uint8 support) internal {
        vm.warp(1_700_000_000);
        address whale = address(0x1000);
        address minnow = address(0x1001);
        address[] memory recipients = new address[](2);
        recipients[0] = whale;
        recipients[1] = minnow;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = uint256(type(uint208).max) - 1;
        amounts[1] = 1;
        token = new ModelToken("T", "T", recipients, amounts);
        vm.prank(whale);
        token.delegate(whale);
        vm.prank(minnow);
        token.delegate(minnow);
        TimelockController timelock = new TimelockController(0, new address[](0), new address[](0), address(this));
        modeldao = new ModelGovernorHarness(token, timelock, 1, PERIOD, 50, 60);
        vm.warp(block.timestamp + 1);
        uint256 id = _propose(modeldao, "max");
        uint256 deadline = modeldao.proposalDeadline(id);

        vm.warp(deadline - 10);
        vm.prank(whale);
        modeldao.castVote(id, support); // reaches quorum late
        assertEq(modeldao.proposalDeadline(id), deadline + 50);
        vm.prank(minnow);
        modeldao.castVote(id, support);

        (, uint256 forVotes, uint256 abstainVotes) = modeldao.proposalVotes(id);
        assertEq(support == 1 ? forVotes : abstainVotes, type(uint208).max);
        assertEq(support == 1 ? abstainVotes : forVotes, 0);
        assertEq(modeldao.recordedDeadline(id), deadline + 50, "record intact beside a full tally");
        assertEq(modeldao.proposalDeadline(id), deadline + 50);
        vm.warp(deadline + 51);
        // Abstain votes alone reach quorum but do not pass the proposal.
        IGovernor.ProposalState outcome =
            support == 1 ? IGovernor.ProposalState.Succeeded : IGovernor.ProposalState.Defeated;
        assertEq(uint8(modeldao.state(id)), uint8(outcome));
    }

    function test_castVote_revertsIfForOrAbstainVotesWouldExceedUint208() public {
        vm.warp(1_700_000_000);
        InflatedVotesToken inflated = new InflatedVotesToken();
        TimelockController timelock = new TimelockController(0, new address[](0), new address[](0), address(this));
        modeldao = new ModelGovernorHarness(inflated, timelock, 1, PERIOD, 4, 60);
        vm.warp(block.timestamp + 1);
        address[] memory targets = new address[](1);
        targets[0] = address(inflated);
        uint256 id = modeldao.propose(targets, new uint256[](1), new bytes[](1), "inflated");
        vm.warp(modeldao.proposalSnapshot(id) + 1);

        vm.prank(address(0xa));
        modeldao.castVote(id, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                SafeCast.SafeCastOverflowedUintDowncast.selector, 208, 2 * uint256(type(uint208).max)
            )
        );
        vm.prank(address(0xb));
        modeldao.castVote(id, 1);
        // The same for Abstain votes.
        vm.prank(address(0xe));
        modeldao.castVote(id, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                SafeCast.SafeCastOverflowedUintDowncast.selector, 208, 2 * uint256(type(uint208).max)
            )
        );
        vm.prank(address(0xf));
        modeldao.castVote(id, 2);
        // The Against tally is a full uint256 word.
        vm.prank(address(0xc));
        modeldao.castVote(id, 0);
        vm.prank(address(0xd));
        modeldao.castVote(id, 0);
        (uint256 against, uint256 forVotes, uint256 abstainVotes) = modeldao.proposalVotes(id);
        assertEq(against, 2 * uint256(type(uint208).max));
        assertEq(forVotes, type(uint208).max);
        assertEq(abstainVotes, type(uint208).max);
        assertFalse(modeldao.hasVoted(id, address(0xb)));
        assertFalse(modeldao.hasVoted(id, address(0xf)));
    }
}
