// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Script} from "forge-std/Script.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {ModelToken} from "../src/ModelToken.sol";
import {ModelGovernor} from "../src/ModelGovernor.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Deploy
/// @notice Deploys and wires token, timelock, governor and registry, hands every permission to the
/// timelock, and writes the deployment record the TypeScript side reads.
/// @dev `scripts/foundry forge script contracts/script/Deploy.s.sol --rpc-url $RPC --broadcast --private-key $KEY`
/// (or `--account NAME`, `--ledger`: whichever signer forge was given deploys; `PRIVATE_KEY` in the
/// environment overrides it). Governance parameters come from the environment. The defaults suit a
/// local anvil chain (seconds, anvil's public accounts) and apply only there: on any other chain every
/// parameter must be set, so a forgotten variable cannot hand the guardian role or half the supply
/// to a well-known test key. The test fixture calls {deploy} with {defaultConfig}, so tests run
/// against exactly this wiring.
contract Deploy is Script {
    struct Config {
        uint48 votingDelay;
        uint32 votingPeriod;
        uint256 proposalThreshold;
        uint256 quorumNumerator;
        uint48 lateQuorumExtension;
        uint256 timelockDelay;
        address guardian;
        address[] recipients;
        uint256[] amounts;
        /// @dev Minted to the timelock (the DAO treasury) on top of `recipients`.
        uint256 treasuryAmount;
    }

    struct Deployment {
        ModelToken token;
        TimelockController timelock;
        ModelGovernor governor;
        ModelRegistry registry;
        uint256 deployBlock;
    }

    string internal constant TOKEN_NAME = "ModelDAO";
    string internal constant TOKEN_SYMBOL = "MDAO";

    /// @dev anvil's account #9.
    address internal constant ANVIL_GUARDIAN = 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720;
    uint256 internal constant DEFAULT_HOLDER_AMOUNT = 100_000e18;
    uint256 internal constant DEFAULT_TREASURY_AMOUNT = 500_000e18;

    /// @dev Chain id of anvil / hardhat, the only chain where {defaultConfig} may fill in parameters.
    uint256 internal constant LOCAL_CHAIN_ID = 31337;

    function run() external returns (Deployment memory deployment) {
        Config memory config = configFromEnv();
        uint256 deployerKey = vm.envOr("PRIVATE_KEY", uint256(0));
        if (deployerKey != 0) {
            vm.startBroadcast(deployerKey);
        } else {
            vm.startBroadcast(); // the signer given to forge (--private-key, --account, --ledger …)
        }
        (, address deployer,) = vm.readCallers();
        deployment = _deploy(config, deployer);
        vm.stopBroadcast();
        string memory path =
            vm.envOr("DEPLOYMENT_FILE", string.concat("contracts/deployments/", vm.toString(block.chainid), ".json"));
        vm.writeJson(deploymentRecord(config, deployment), path);
    }

    /// @notice Deploys the system from `deployerKey`'s account, which keeps no role afterwards.
    function deploy(Config memory config, uint256 deployerKey) public returns (Deployment memory deployment) {
        vm.startBroadcast(deployerKey);
        deployment = _deploy(config, vm.addr(deployerKey));
        vm.stopBroadcast();
    }

    /// @dev Runs inside a broadcast from `deployer`.
    function _deploy(Config memory config, address deployer) internal returns (Deployment memory deployment) {
        // The script runs against the head block; its first transaction lands in the next one at the
        // earliest, so an indexer starting here misses nothing.
        deployment.deployBlock = block.number + 1;

        // The timelock comes first so the token can mint the treasury share to it.
        address[] memory noProposers = new address[](0);
        address[] memory anyoneExecutes = new address[](1); // address(0): anyone may execute
        TimelockController timelock =
            new TimelockController(config.timelockDelay, noProposers, anyoneExecutes, deployer);
        deployment.timelock = timelock;
        deployment.token = _deployToken(config, address(timelock));
        deployment.governor = _deployGovernor(config, deployment.token, timelock);
        deployment.registry = new ModelRegistry(address(timelock), config.guardian);

        timelock.grantRole(timelock.PROPOSER_ROLE(), address(deployment.governor));
        timelock.grantRole(timelock.CANCELLER_ROLE(), address(deployment.governor));
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), deployer);
    }

    function _deployToken(Config memory config, address treasury) internal returns (ModelToken) {
        uint256 holders = config.recipients.length;
        address[] memory recipients = new address[](holders + 1);
        uint256[] memory amounts = new uint256[](holders + 1);
        for (uint256 i = 0; i < holders; ++i) {
            recipients[i] = config.recipients[i];
            amounts[i] = config.amounts[i];
        }
        recipients[holders] = treasury;
        amounts[holders] = config.treasuryAmount;
        return new ModelToken(TOKEN_NAME, TOKEN_SYMBOL, recipients, amounts);
    }

    function _deployGovernor(Config memory config, ModelToken token, TimelockController timelock)
        internal
        returns (ModelGovernor)
    {
        return new ModelGovernor(
            token,
            timelock,
            config.votingDelay,
            config.votingPeriod,
            config.proposalThreshold,
            config.quorumNumerator,
            config.lateQuorumExtension,
            config.guardian
        );
    }

    /// @notice Local-chain defaults: anvil accounts #0..#4 hold 100k tokens each, the treasury 500k.
    function defaultConfig() public pure returns (Config memory config) {
        config.votingDelay = 1;
        config.votingPeriod = 300;
        config.proposalThreshold = 1_000e18;
        config.quorumNumerator = 4;
        config.lateQuorumExtension = 60;
        config.timelockDelay = 60;
        config.guardian = ANVIL_GUARDIAN;
        config.recipients = new address[](5);
        config.recipients[0] = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;
        config.recipients[1] = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;
        config.recipients[2] = 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC;
        config.recipients[3] = 0x90F79bf6EB2c4f870365E785982E1f101E93b906;
        config.recipients[4] = 0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65;
        config.amounts = new uint256[](5);
        for (uint256 i = 0; i < 5; ++i) {
            config.amounts[i] = DEFAULT_HOLDER_AMOUNT;
        }
        config.treasuryAmount = DEFAULT_TREASURY_AMOUNT;
    }

    /// @notice {defaultConfig}, overridden by VOTING_DELAY, VOTING_PERIOD, PROPOSAL_THRESHOLD (wei),
    /// QUORUM_PERCENT, LATE_QUORUM_EXTENSION, TIMELOCK_DELAY, GUARDIAN, TOKEN_RECIPIENTS and
    /// TOKEN_AMOUNTS (comma-separated, same length) and TREASURY_AMOUNT (wei). Off the local chain
    /// each of them is required. Values that do not fit their type revert instead of wrapping.
    function configFromEnv() public view returns (Config memory config) {
        Config memory defaults = defaultConfig();
        config.votingDelay = SafeCast.toUint48(_envUint("VOTING_DELAY", defaults.votingDelay));
        config.votingPeriod = SafeCast.toUint32(_envUint("VOTING_PERIOD", defaults.votingPeriod));
        config.proposalThreshold = _envUint("PROPOSAL_THRESHOLD", defaults.proposalThreshold);
        config.quorumNumerator = _envUint("QUORUM_PERCENT", defaults.quorumNumerator);
        config.lateQuorumExtension = SafeCast.toUint48(_envUint("LATE_QUORUM_EXTENSION", defaults.lateQuorumExtension));
        config.timelockDelay = _envUint("TIMELOCK_DELAY", defaults.timelockDelay);
        _requireOffLocal("GUARDIAN");
        config.guardian = vm.envOr("GUARDIAN", defaults.guardian);
        _requireOffLocal("TOKEN_RECIPIENTS");
        config.recipients = vm.envOr("TOKEN_RECIPIENTS", ",", defaults.recipients);
        _requireOffLocal("TOKEN_AMOUNTS");
        config.amounts = vm.envOr("TOKEN_AMOUNTS", ",", defaults.amounts);
        config.treasuryAmount = _envUint("TREASURY_AMOUNT", defaults.treasuryAmount);
        require(
            config.recipients.length == config.amounts.length, "TOKEN_RECIPIENTS and TOKEN_AMOUNTS differ in length"
        );
    }

    function _envUint(string memory name, uint256 localDefault) internal view returns (uint256) {
        _requireOffLocal(name);
        return vm.envOr(name, localDefault);
    }

    function _requireOffLocal(string memory name) internal view {
        require(
            block.chainid == LOCAL_CHAIN_ID || vm.envExists(name),
            string.concat(name, " must be set: local-chain defaults apply only on chain 31337")
        );
    }

    /// @notice The record `lib/` reads: chain id, addresses, the block an indexer starts from, parameters.
    function deploymentRecord(Config memory config, Deployment memory deployment) public returns (string memory) {
        string memory contracts = "contracts";
        vm.serializeAddress(contracts, "ModelToken", address(deployment.token));
        vm.serializeAddress(contracts, "ModelGovernor", address(deployment.governor));
        vm.serializeAddress(contracts, "TimelockController", address(deployment.timelock));
        contracts = vm.serializeAddress(contracts, "ModelRegistry", address(deployment.registry));

        string memory governance = "governance";
        vm.serializeUint(governance, "votingDelay", config.votingDelay);
        vm.serializeUint(governance, "votingPeriod", config.votingPeriod);
        // A string: wei amounts exceed what a JavaScript number holds exactly.
        vm.serializeString(governance, "proposalThreshold", vm.toString(config.proposalThreshold));
        vm.serializeUint(governance, "quorumNumerator", config.quorumNumerator);
        vm.serializeUint(governance, "lateQuorumExtension", config.lateQuorumExtension);
        governance = vm.serializeUint(governance, "timelockDelay", config.timelockDelay);

        string memory record = "record";
        vm.serializeUint(record, "chainId", block.chainid);
        vm.serializeUint(record, "deployBlock", deployment.deployBlock);
        vm.serializeString(record, "contracts", contracts);
        vm.serializeAddress(record, "guardian", config.guardian);
        return vm.serializeString(record, "governance", governance);
    }
}
