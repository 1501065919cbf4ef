// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title GovernorCountingLateQuorum
 * @notice OpenZeppelin's {GovernorCountingSimple} and {GovernorPreventLateQuorum} as one module on one storage
 * layout, with the same public ABI (`COUNTING_MODE`, `hasVoted`, `proposalVotes`, `proposalDeadline`,
 * `lateQuorumVoteExtension`, `setLateQuorumVoteExtension`), the same events and the same error, and the same
 * deadlines: a For or Abstain vote that first brings `forVotes + abstainVotes` to the quorum at a time `t` with
 * `t + lateQuorumVoteExtension() > proposalDeadline` moves the deadline to `t + lateQuorumVoteExtension()` and emits
 * {ProposalExtended}. contracts/test/LateQuorum.t.sol checks it against the unmodified OpenZeppelin composition.
 *
 * Why one module: the extended deadline is recorded in the storage slot of the tally the vote that reaches quorum
 * late adds to: beside `forVotes` for a For vote, beside `abstainVotes` for an Abstain vote (both `uint208`, see
 * {ProposalTally}). That vote writes that slot anyway, so recording the extension costs no storage write of its own;
 * {GovernorPreventLateQuorum} writes it to a fresh slot of its own mapping (~22k gas: a cold zero-to-nonzero write).
 * A proposal holds at most one record, in one of the two slots: the first vote to record one (see
 * {_lateQuorumRecord}).
 *
 * Differences from the two OpenZeppelin modules, none visible in deadlines or events with a non-zero quorum:
 * - The quorum is computed only by a For or Abstain vote cast inside the late-quorum window, the only votes that
 *   can extend the deadline (OpenZeppelin computes it after every vote until quorum is reached, and records the
 *   deadline that quorum would give even when it cannot move the deadline). Inside the window, once quorum is
 *   known to be reached, a For or Abstain vote records the proposal's own deadline so that later votes skip the
 *   quorum.
 * - With a quorum of 0 (a zero quorum numerator, or no supply at the snapshot) no vote "reaches" quorum, so no
 *   deadline is extended; OpenZeppelin would extend at the first vote cast inside the window.
 * - {proposalDeadline} reads the record only when one can exist beyond the proposal's own deadline.
 * - {LateQuorumVoteExtensionSet} is emitted after the new value is stored.
 */
abstract contract GovernorCountingLateQuorum is Governor {
    /// @dev Supported vote types. Matches Governor Bravo ordering (and {GovernorCountingSimple}).
    enum VoteType {
        Against,
        For,
        Abstain
    }

    /**
     * @dev A proposal's tally. `forVotes` shares its slot with `recordedByFor`, `abstainVotes` with
     * `recordedByAbstain`: what a For (resp. Abstain) vote recorded for the deadline (see {_lateQuorumRecord}), a
     * timepoint of the `uint48` clock, 0 while nothing is recorded; at most one of the two is non-zero.
     * `forVotes` and `abstainVotes` fit in a `uint208`: each account votes once, with its voting power at the
     * snapshot, and an ERC20Votes token's voting powers add up to at most its total supply, which ERC20Votes caps at
     * `type(uint208).max`; {_countVote} still checks with SafeCast, so a token that reports more makes the vote
     * revert instead of wrapping.
     */
    struct ProposalTally {
        uint208 forVotes;
        uint48 recordedByFor;
        uint256 againstVotes;
        uint208 abstainVotes;
        uint48 recordedByAbstain;
        mapping(address voter => bool) hasVoted;
    }

    mapping(uint256 proposalId => ProposalTally) private _tallies;

    /// @dev The extension in force and the largest it has ever been, in one slot (see {proposalDeadline}).
    uint48 private _voteExtension;
    uint48 private _maxVoteExtensionEver;

    /// @dev The deadline {_countVote} just recorded, emitted by {_tallyUpdated} after {IGovernor-VoteCast}, in
    /// OpenZeppelin's order of events.
    uint48 private transient _recordedExtension;

    /// @dev Emitted when a proposal deadline is pushed back due to reaching quorum late in its voting period.
    event ProposalExtended(uint256 indexed proposalId, uint64 extendedDeadline);

    /// @dev Emitted when the {lateQuorumVoteExtension} parameter is changed.
    event LateQuorumVoteExtensionSet(uint64 oldVoteExtension, uint64 newVoteExtension);

    /// @dev The {lateQuorumVoteExtension} would exceed {_maxLateQuorumVoteExtension} (OpenZeppelin's error).
    error GovernorPreventLateQuorumVoteExtensionTooLarge(uint256 newVoteExtension, uint256 maxVoteExtension);

    /// @dev Sets the initial {lateQuorumVoteExtension}, in the clock's unit.
    constructor(uint48 initialVoteExtension) {
        _setLateQuorumVoteExtension(initialVoteExtension);
    }

    // ---- counting ({GovernorCountingSimple}'s interface) --------------------------------------------------------

    // solhint-disable-next-line func-name-mixedcase
    function COUNTING_MODE() public pure virtual override returns (string memory) {
        return "support=bravo&quorum=for,abstain";
    }

    function hasVoted(uint256 proposalId, address account) public view virtual override returns (bool) {
        return _tallies[proposalId].hasVoted[account];
    }

    /// @notice The votes cast on a proposal so far, by support.
    function proposalVotes(uint256 proposalId)
        public
        view
        virtual
        returns (uint256 againstVotes, uint256 forVotes, uint256 abstainVotes)
    {
        ProposalTally storage tally = _tallies[proposalId];
        return (tally.againstVotes, tally.forVotes, tally.abstainVotes);
    }

    /// @dev For and Abstain votes count towards quorum.
    function _quorumReached(uint256 proposalId) internal view virtual override returns (bool) {
        ProposalTally storage tally = _tallies[proposalId];
        return quorum(proposalSnapshot(proposalId)) <= tally.forVotes + tally.abstainVotes;
    }

    /// @dev forVotes must be strictly over againstVotes.
    function _voteSucceeded(uint256 proposalId) internal view virtual override returns (bool) {
        ProposalTally storage tally = _tallies[proposalId];
        return tally.forVotes > tally.againstVotes;
    }

    /**
     * @dev Counts the vote ({VoteType}), once per account, and records the extended deadline when this vote is
     * the one that reaches quorum late (see {_lateQuorumRecord}), in the slot the vote writes.
     */
    function _countVote(
        uint256 proposalId,
        address account,
        uint8 support,
        uint256 totalWeight,
        bytes memory // params
    )
        internal
        virtual
        override
        returns (uint256)
    {
        ProposalTally storage tally = _tallies[proposalId];
        if (tally.hasVoted[account]) revert GovernorAlreadyCastVote(account);
        tally.hasVoted[account] = true;

        if (support == uint8(VoteType.Against)) {
            tally.againstVotes += totalWeight;
            return totalWeight;
        }
        if (support != uint8(VoteType.For) && support != uint8(VoteType.Abstain)) revert GovernorInvalidVoteType();

        // Only inside the late-quorum window can this vote move the deadline; elsewhere the quorum is not computed.
        uint48 record;
        uint48 extendedDeadline = clock() + _voteExtension;
        uint256 deadline = super.proposalDeadline(proposalId);
        if (extendedDeadline > deadline) {
            record = _lateQuorumRecord(proposalId, tally, totalWeight, deadline, extendedDeadline);
        }
        if (support == uint8(VoteType.For)) {
            tally.forVotes = SafeCast.toUint208(tally.forVotes + totalWeight);
            if (record != 0) tally.recordedByFor = record;
        } else {
            tally.abstainVotes = SafeCast.toUint208(tally.abstainVotes + totalWeight);
            if (record != 0) tally.recordedByAbstain = record;
        }
        return totalWeight;
    }

    /// @dev Emits {ProposalExtended} for the deadline the vote just counted recorded, if any.
    function _tallyUpdated(uint256 proposalId) internal virtual override {
        super._tallyUpdated(proposalId);
        uint48 extendedDeadline = _recordedExtension;
        if (extendedDeadline != 0) {
            _recordedExtension = 0;
            emit ProposalExtended(proposalId, extendedDeadline);
        }
    }

    // ---- late quorum ({GovernorPreventLateQuorum}'s interface) --------------------------------------------------

    /**
     * @dev The proposal's deadline, later than the one set at proposal creation if quorum was reached late.
     * Reads the record only when one can matter: a record made at time `t` is `t + extension(t)`, at most
     * `clock() + maxExtensionEver`, so while that is before the proposal's own deadline no record can move it.
     * This saves a cold storage read in every Against or Abstain vote cast before the late-quorum window.
     */
    function proposalDeadline(uint256 proposalId) public view virtual override returns (uint256) {
        uint256 deadline = super.proposalDeadline(proposalId);
        if (clock() + uint256(_maxVoteExtensionEver) < deadline) return deadline;
        return Math.max(deadline, _recordedDeadline(proposalId));
    }

    /// @notice The time (in the clock's unit) that must pass between the vote that reaches quorum and the end of
    /// voting: a proposal that reaches quorum later than that before its deadline is extended.
    function lateQuorumVoteExtension() public view virtual returns (uint48) {
        return _voteExtension;
    }

    /**
     * @notice Changes {lateQuorumVoteExtension}. Only governance (an executed proposal) may call it.
     * @dev Emits a {LateQuorumVoteExtensionSet} event.
     */
    function setLateQuorumVoteExtension(uint48 newVoteExtension) public virtual onlyGovernance {
        _setLateQuorumVoteExtension(newVoteExtension);
    }

    /**
     * @dev Changes {lateQuorumVoteExtension}; reverts with {GovernorPreventLateQuorumVoteExtensionTooLarge} above
     * {_maxLateQuorumVoteExtension}. A change applies to the votes cast after it, proposals already extended
     * keep their deadline.
     *
     * Emits a {LateQuorumVoteExtensionSet} event.
     */
    function _setLateQuorumVoteExtension(uint48 newVoteExtension) internal virtual {
        uint256 maxVoteExtension = _maxLateQuorumVoteExtension();
        if (newVoteExtension > maxVoteExtension) {
            revert GovernorPreventLateQuorumVoteExtensionTooLarge(newVoteExtension, maxVoteExtension);
        }
        uint48 oldVoteExtension = _voteExtension;
        _voteExtension = newVoteExtension;
        if (newVoteExtension > _maxVoteExtensionEver) _maxVoteExtensionEver = newVoteExtension;
        emit LateQuorumVoteExtensionSet(oldVoteExtension, newVoteExtension);
    }

    /**
     * @dev What the proposal's votes recorded for its deadline: 0 (nothing), the proposal's own deadline (quorum was
     * reached before the late-quorum window) or the extended deadline. {proposalDeadline} is the later of the
     * proposal's own deadline and this.
     */
    function _recordedDeadline(uint256 proposalId) internal view returns (uint48) {
        return _recorded(_tallies[proposalId]);
    }

    /// @dev The record in each slot, `recordedByFor` and `recordedByAbstain` (at most one is non-zero).
    function _recordedDeadlines(uint256 proposalId) internal view returns (uint48 byFor, uint48 byAbstain) {
        ProposalTally storage tally = _tallies[proposalId];
        return (tally.recordedByFor, tally.recordedByAbstain);
    }

    /**
     * @dev The proposal's record: at most one slot holds one, so the For slot's when set, else the Abstain slot's.
     * The Abstain slot is read only when the For slot holds nothing: a For vote in the window after a For record
     * reads no slot it would not read anyway.
     */
    function _recorded(ProposalTally storage tally) private view returns (uint48) {
        uint48 byFor = tally.recordedByFor;
        return byFor != 0 ? byFor : tally.recordedByAbstain;
    }

    /**
     * @dev Upper bound of {lateQuorumVoteExtension}: the voting period, as in {GovernorPreventLateQuorum}. It keeps
     * `clock() + lateQuorumVoteExtension()` far from `uint48` overflow, which would revert the vote reaching quorum.
     */
    function _maxLateQuorumVoteExtension() internal view virtual returns (uint256) {
        return votingPeriod();
    }

    /**
     * @dev What a For or Abstain vote of `weight`, cast inside the late-quorum window (`extendedDeadline`, i.e.
     * `clock() + extension`, is past the proposal's own `deadline`), records in the slot of the tally it adds to
     * (`recordedByFor` or `recordedByAbstain`; 0: nothing), noting an extension for {_tallyUpdated}. Nothing once
     * either slot holds a record (the quorum, two checkpoint lookups and a call to the token, is not computed then),
     * so a proposal holds at most one record and its deadline never moves twice. Otherwise:
     * - the vote takes `forVotes + abstainVotes` from below quorum to quorum: `extendedDeadline`, which
     *   {proposalDeadline} then returns, and {_tallyUpdated} emits {ProposalExtended};
     * - quorum was reached before the window: the proposal's own deadline, which moves nothing but spares every
     *   later vote the quorum computation (the vote writes that slot anyway);
     * - quorum not reached: nothing.
     */
    function _lateQuorumRecord(
        uint256 proposalId,
        ProposalTally storage tally,
        uint256 weight,
        uint256 deadline,
        uint48 extendedDeadline
    ) private returns (uint48) {
        if (_recorded(tally) != 0) return 0;
        uint256 votesBefore = tally.forVotes + tally.abstainVotes;
        uint256 quorumAtSnapshot = quorum(proposalSnapshot(proposalId));
        if (votesBefore >= quorumAtSnapshot) return SafeCast.toUint48(deadline);
        if (votesBefore + weight < quorumAtSnapshot) return 0;
        _recordedExtension = extendedDeadline;
        return extendedDeadline;
    }
}
