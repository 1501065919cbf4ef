// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Fixture} from "../utils/Fixture.sol";
import {RegistryHandler} from "./RegistryHandler.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";

/// @dev 32 runs x depth 500 by default and in CI (fixed seed), 1000 runs in `npm run test:deep` (foundry.toml).
contract ModelRegistryInvariantTest is Fixture {
    RegistryHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new RegistryHandler(registry, address(timelock), guardian);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = RegistryHandler.registerModel.selector;
        selectors[1] = RegistryHandler.publishVersion.selector;
        selectors[2] = RegistryHandler.setCurrentVersion.selector;
        selectors[3] = RegistryHandler.deprecateVersion.selector;
        selectors[4] = RegistryHandler.revokeVersion.selector;
        selectors[5] = RegistryHandler.setAllowlist.selector;
        selectors[6] = RegistryHandler.strangerCalls.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @dev Checked after every call. Only the model the call touched can have changed (its state was
    /// checked after the previous call), so the per-version properties are checked for that model here
    /// and for every model in {afterInvariant}, at the end of each run: same guarantee, a fraction of the
    /// time. One campaign checks every property; a campaign per property would multiply the run time
    /// (each a whole campaign of runs x 500 calls) without exploring anything new.
    function invariant_registry() public view {
        _assertChangesOnlyThroughOwnerOrGuardianRevoke();
        _assertCountsOnlyGrow();
        uint256 touched = handler.lastModel();
        if (touched != 0 && touched <= registry.modelCount()) _assertModel(touched);
    }

    function afterInvariant() public view {
        uint256 models = registry.modelCount();
        for (uint256 id = 1; id <= models; ++id) {
            _assertModel(id);
        }
    }

    function _assertModel(uint256 id) internal view {
        (, uint32 count, uint32 current,) = registry.getModel(id);
        _assertCurrentIsActiveOrNone(id, current);
        for (uint32 v = 1; v <= count; ++v) {
            IModelRegistry.Version memory version = registry.getVersion(id, v);
            _assertDigestNeverChanged(id, v, version);
            _assertRevokedStaysRevokedAndNeverCurrent(id, v, version, current);
        }
    }

    /// @dev Only the timelock changes the registry; the guardian only revokes.
    function _assertChangesOnlyThroughOwnerOrGuardianRevoke() internal view {
        assertEq(handler.ghostUnauthorizedSuccesses(), 0, "unauthorized change");
        assertEq(registry.owner(), address(timelock));
        assertEq(registry.guardian(), guardian);
    }

    /// @dev Model and version counts match the ghosts, and no call ever saw a count go down.
    function _assertCountsOnlyGrow() internal view {
        assertEq(handler.ghostViolations(), 0, "count went down or revoked version became current");
        uint256 models = registry.modelCount();
        assertEq(models, handler.ghostModelCount());
        for (uint256 id = 1; id <= models; ++id) {
            (, uint32 count,,) = registry.getModel(id);
            assertEq(count, handler.ghostVersionCount(id), "version count");
        }
    }

    function _assertCurrentIsActiveOrNone(uint256 id, uint32 current) internal view {
        (uint32 reported, bytes32 digest) = registry.currentVersion(id);
        assertEq(reported, current);
        if (current == 0) {
            assertEq(digest, bytes32(0));
        } else {
            assertEq(
                uint8(registry.getVersion(id, current).status),
                uint8(IModelRegistry.VersionStatus.Active),
                "current not active"
            );
            assertEq(digest, handler.ghostDigest(id, current));
        }
    }

    function _assertDigestNeverChanged(uint256 id, uint32 v, IModelRegistry.Version memory version) internal view {
        assertEq(version.manifestDigest, handler.ghostDigest(id, v), "digest changed");
        assertTrue(version.manifestDigest != bytes32(0));
    }

    function _assertRevokedStaysRevokedAndNeverCurrent(
        uint256 id,
        uint32 v,
        IModelRegistry.Version memory version,
        uint32 current
    ) internal view {
        if (handler.ghostRevoked(id, v)) {
            assertEq(uint8(version.status), uint8(IModelRegistry.VersionStatus.Revoked), "revocation undone");
            assertTrue(current != v, "revoked version current");
        }
    }
}
