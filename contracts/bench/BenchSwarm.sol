// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @notice One voting account of the benchmark swarm: holds tokens, delegates and votes when told.
contract BenchVoter {
    address private immutable _swarm;

    constructor() {
        _swarm = msg.sender;
    }

    function vote(IGovernor governor, uint256 proposalId, uint8 support) external {
        require(msg.sender == _swarm);
        governor.castVote(proposalId, support);
    }

    function delegateTo(IVotes token, address delegatee) external {
        require(msg.sender == _swarm);
        token.delegate(delegatee);
    }
}

/// @notice Generates governance history for `npm run bench:indexer` in few transactions: many
/// proposals, every voter voting on every proposal, and rounds of re-delegation. Benchmark only;
/// never deployed outside a local chain.
contract BenchSwarm {
    IGovernor public immutable governor;
    IVotes public immutable token;
    BenchVoter[] public voters;
    uint256[] public proposalIds;

    constructor(IGovernor governor_, IVotes token_) {
        governor = governor_;
        token = token_;
    }

    function voterCount() external view returns (uint256) {
        return voters.length;
    }

    function proposalCount() external view returns (uint256) {
        return proposalIds.length;
    }

    /// @dev The swarm itself proposes, so it needs the proposal threshold delegated to itself.
    function selfDelegate() external {
        token.delegate(address(this));
    }

    function addVoters(uint256 n, uint256 amountEach) external {
        for (uint256 i = 0; i < n; ++i) {
            BenchVoter v = new BenchVoter();
            IERC20(address(token)).transfer(address(v), amountEach);
            v.delegateTo(token, address(v));
            voters.push(v);
        }
    }

    function propose(uint256 n, address target) external {
        address[] memory targets = new address[](1);
        targets[0] = target;
        uint256[] memory values = new uint256[](1);
        bytes[] memory calldatas = new bytes[](1);
        for (uint256 i = 0; i < n; ++i) {
            string memory description = string.concat("bench proposal ", Strings.toString(proposalIds.length));
            proposalIds.push(governor.propose(targets, values, calldatas, description));
        }
    }

    /// @dev Vote k (from <= k < to) is voter k % voters on proposal k / voters; support cycles.
    function vote(uint256 from, uint256 to) external {
        uint256 n = voters.length;
        for (uint256 k = from; k < to; ++k) {
            voters[k % n].vote(governor, proposalIds[k / n], uint8(k % 3));
        }
    }

    /// @dev Change k moves voter k % n to another voter (round-dependent), so each is a real change.
    function redelegate(uint256 from, uint256 to) external {
        uint256 n = voters.length;
        for (uint256 k = from; k < to; ++k) {
            uint256 v = k % n;
            uint256 round = k / n;
            voters[v].delegateTo(token, address(voters[(v + 1 + (round % (n - 1))) % n]));
        }
    }
}
