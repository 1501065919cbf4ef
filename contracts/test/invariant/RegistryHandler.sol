// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";

/// @dev Drives the registry as the timelock (owner), the guardian and strangers. Ghost state records
/// what should be true; the invariants compare it with the registry.
contract RegistryHandler is CommonBase, StdCheats, StdUtils {
    uint256 internal constant MAX_MODELS = 3;
    uint32 internal constant MAX_VERSIONS = 16;

    ModelRegistry public immutable registry;
    address public immutable owner;
    address public immutable guardian;

    // ghosts
    mapping(uint256 modelId => mapping(uint32 version => bytes32 digest)) public ghostDigest;
    mapping(uint256 modelId => mapping(uint32 version => bool revoked)) public ghostRevoked;
    mapping(uint256 modelId => uint32) public ghostVersionCount;
    mapping(uint256 modelId => uint32) public ghostCurrent;
    uint256 public ghostModelCount;
    /// @dev Calls by anyone but the owner (or, for revoke, the guardian) that succeeded: must stay 0.
    uint256 public ghostUnauthorizedSuccesses;
    /// @dev A version count that went down, or a revoked version that became current: must stay 0.
    uint256 public ghostViolations;
    mapping(bytes4 selector => uint256) public calls;
    /// @dev The model the last call addressed (0: none yet).
    uint256 public lastModel;

    constructor(ModelRegistry registry_, address owner_, address guardian_) {
        registry = registry_;
        owner = owner_;
        guardian = guardian_;
    }

    function _model(uint256 seed) internal returns (uint256 modelId) {
        modelId = ghostModelCount == 0 ? 1 : bound(seed, 1, ghostModelCount);
        lastModel = modelId;
    }

    function _version(uint256 modelId, uint256 seed) internal view returns (uint32) {
        return uint32(bound(seed, 0, ghostVersionCount[modelId] + 1)); // 0 and count+1 exercise reverts
    }

    function _afterChange(uint256 modelId) internal {
        (, uint32 count, uint32 current,) = registry.getModel(modelId);
        if (count < ghostVersionCount[modelId]) ++ghostViolations;
        if (current != 0 && ghostRevoked[modelId][current]) ++ghostViolations;
        ghostVersionCount[modelId] = count;
        ghostCurrent[modelId] = current;
    }

    function registerModel(uint256 seed) external {
        ++calls[this.registerModel.selector];
        if (ghostModelCount >= MAX_MODELS) return;
        string memory slug = string.concat("model-", vm.toString(seed % 1000));
        vm.prank(owner);
        try registry.registerModel(
            slug, IModelRegistry.AccessRule(IModelRegistry.AccessKind.Public, address(0), 0)
        ) returns (
            uint256 id
        ) {
            ghostModelCount = id;
            lastModel = id;
        } catch {}
    }

    function publishVersion(uint256 modelSeed, bytes32 digest, uint256 parentSeed) external {
        ++calls[this.publishVersion.selector];
        uint256 modelId = _model(modelSeed);
        if (ghostVersionCount[modelId] >= MAX_VERSIONS) return;
        uint32 parent = ghostVersionCount[modelId] == 0 ? 0 : uint32(bound(parentSeed, 1, ghostVersionCount[modelId]));
        vm.prank(owner);
        try registry.publishVersion(modelId, digest, parent) returns (uint32 version) {
            ghostDigest[modelId][version] = digest;
            _afterChange(modelId);
        } catch {}
    }

    function setCurrentVersion(uint256 modelSeed, uint256 versionSeed) external {
        ++calls[this.setCurrentVersion.selector];
        uint256 modelId = _model(modelSeed);
        vm.prank(owner);
        try registry.setCurrentVersion(modelId, _version(modelId, versionSeed)) {
            _afterChange(modelId);
        } catch {}
    }

    function deprecateVersion(uint256 modelSeed, uint256 versionSeed) external {
        ++calls[this.deprecateVersion.selector];
        uint256 modelId = _model(modelSeed);
        vm.prank(owner);
        try registry.deprecateVersion(modelId, _version(modelId, versionSeed)) {
            _afterChange(modelId);
        } catch {}
    }

    function revokeVersion(uint256 modelSeed, uint256 versionSeed, bool asGuardian) external {
        ++calls[this.revokeVersion.selector];
        uint256 modelId = _model(modelSeed);
        uint32 version = _version(modelId, versionSeed);
        vm.prank(asGuardian ? guardian : owner);
        try registry.revokeVersion(modelId, version) {
            ghostRevoked[modelId][version] = true;
            _afterChange(modelId);
        } catch {}
    }

    function setAllowlist(uint256 modelSeed, address account, bool allowed) external {
        ++calls[this.setAllowlist.selector];
        address[] memory accounts = new address[](1);
        accounts[0] = account;
        uint256 modelId = _model(modelSeed);
        vm.prank(owner);
        try registry.setAllowlist(modelId, accounts, allowed) {} catch {}
    }

    /// @dev A stranger (or the guardian, for everything but revoke) tries every mutating function.
    function strangerCalls(address caller, uint256 modelSeed, uint256 versionSeed, uint8 which) external {
        ++calls[this.strangerCalls.selector];
        if (caller == owner) return;
        uint256 modelId = _model(modelSeed);
        uint32 version = _version(modelId, versionSeed);
        IModelRegistry.AccessRule memory rule =
            IModelRegistry.AccessRule(IModelRegistry.AccessKind.Public, address(0), 0);
        which = uint8(bound(which, 0, 7));
        bytes memory data;
        if (which == 0) data = abi.encodeCall(ModelRegistry.registerModel, ("stranger", rule));
        else if (which == 1) data = abi.encodeCall(ModelRegistry.publishVersion, (modelId, keccak256("evil"), version));
        else if (which == 2) data = abi.encodeCall(ModelRegistry.setCurrentVersion, (modelId, version));
        else if (which == 3) data = abi.encodeCall(ModelRegistry.deprecateVersion, (modelId, version));
        else if (which == 4) data = abi.encodeCall(ModelRegistry.setAccessRule, (modelId, rule));
        else if (which == 5) data = abi.encodeCall(ModelRegistry.setAllowlist, (modelId, new address[](1), true));
        else if (which == 6) data = abi.encodeCall(ModelRegistry.setGuardian, (caller));
        else data = abi.encodeCall(ModelRegistry.revokeVersion, (modelId, version));
        vm.prank(caller);
        (bool ok,) = address(registry).call(data);
        if (ok && !(which == 7 && caller == guardian)) ++ghostUnauthorizedSuccesses;
        if (ok) {
            ghostRevoked[modelId][version] = true; // only reachable as the guardian's revoke
            _afterChange(modelId);
        }
    }
}
