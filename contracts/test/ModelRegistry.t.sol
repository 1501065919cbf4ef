// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Fixture} from "./utils/Fixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {MockERC20, MockERC721, RevertingToken, ShortReturnToken} from "./mocks/Mocks.sol";

contract ModelRegistryTest is Fixture {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        modelId = _register("tiny-lm");
    }

    function _rule(IModelRegistry.AccessKind kind, address t, uint256 minBalance)
        internal
        pure
        returns (IModelRegistry.AccessRule memory)
    {
        return IModelRegistry.AccessRule(kind, t, minBalance);
    }

    function _expectNotOwner(address caller) internal {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        vm.prank(caller);
    }

    // ---- constructor -------------------------------------------------------------------------------

    function test_constructor_setsOwnerAndGuardian() public {
        vm.expectEmit(false, false, false, true); // the deployment address is not known yet
        emit IModelRegistry.GuardianChanged(address(0), guardian);
        ModelRegistry r = new ModelRegistry(address(timelock), guardian);
        assertEq(r.owner(), address(timelock));
        assertEq(r.guardian(), guardian);
        assertEq(r.modelCount(), 0);
    }

    function test_constructor_revertsIfOwnerZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new ModelRegistry(address(0), guardian);
    }

    // ---- registerModel -----------------------------------------------------------------------------

    function test_registerModel_assignsSequentialIds() public {
        vm.expectEmit(address(registry));
        emit IModelRegistry.ModelRegistered(2, "other-model", _public());
        uint256 id = _register("other-model");
        assertEq(id, 2);
        assertEq(registry.modelCount(), 2);
        assertEq(registry.modelIdOf("other-model"), 2);
        (string memory slug, uint32 count, uint32 current, IModelRegistry.AccessRule memory rule) = registry.getModel(2);
        assertEq(slug, "other-model");
        assertEq(count, 0);
        assertEq(current, 0);
        assertEq(uint8(rule.kind), uint8(IModelRegistry.AccessKind.Public));
    }

    function test_registerModel_storesTokenHoldersRule() public {
        MockERC20 t = new MockERC20();
        vm.prank(address(timelock));
        uint256 id = registry.registerModel("gated", _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 5));
        (,,, IModelRegistry.AccessRule memory rule) = registry.getModel(id);
        assertEq(uint8(rule.kind), uint8(IModelRegistry.AccessKind.TokenHolders));
        assertEq(rule.token, address(t));
        assertEq(rule.minBalance, 5);
    }

    function test_registerModel_revertsIfNotOwner() public {
        _expectNotOwner(outsider);
        registry.registerModel("x", _public());
    }

    function test_registerModel_revertsIfGuardian() public {
        _expectNotOwner(guardian);
        registry.registerModel("x", _public());
    }

    function test_registerModel_acceptsSlugBoundaries() public {
        _register("a");
        _register("0");
        _register("a-");
        _register("a1-b2-c3");
        // 64 characters: the longest slug
        _register("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01");
    }

    function test_registerModel_revertsIfSlugEmpty() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidSlug.selector, ""));
        vm.prank(address(timelock));
        registry.registerModel("", _public());
    }

    function test_registerModel_revertsIfSlugTooLong() public {
        string memory slug = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012"; // 65
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidSlug.selector, slug));
        vm.prank(address(timelock));
        registry.registerModel(slug, _public());
    }

    function test_registerModel_revertsIfSlugStartsWithHyphen() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryInvalidSlug.selector);
        vm.prank(address(timelock));
        registry.registerModel("-lm", _public());
    }

    function test_registerModel_revertsIfSlugHasUppercaseOrSymbols() public {
        string[6] memory bad = ["Tiny", "tiny_lm", "tiny.lm", "tiny lm", "tiny/lm", unicode"tíny"];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectPartialRevert(IModelRegistry.ModelRegistryInvalidSlug.selector);
            vm.prank(address(timelock));
            registry.registerModel(bad[i], _public());
        }
    }

    function test_registerModel_revertsIfSlugTaken() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistrySlugTaken.selector, "tiny-lm", modelId));
        vm.prank(address(timelock));
        registry.registerModel("tiny-lm", _public());
    }

    function test_registerModel_revertsIfAccessRuleInvalid() public {
        MockERC20 t = new MockERC20();
        IModelRegistry.AccessRule[5] memory bad = [
            _rule(IModelRegistry.AccessKind.Public, address(t), 0),
            _rule(IModelRegistry.AccessKind.Allowlist, address(0), 1),
            _rule(IModelRegistry.AccessKind.TokenHolders, address(0), 1),
            _rule(IModelRegistry.AccessKind.TokenHolders, outsider, 1), // not a contract
            _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 0)
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IModelRegistry.ModelRegistryInvalidAccessRule.selector, bad[i].kind, bad[i].token, bad[i].minBalance
                )
            );
            vm.prank(address(timelock));
            registry.registerModel("fresh", bad[i]);
        }
    }

    // ---- publishVersion ----------------------------------------------------------------------------

    function test_publishVersion_firstVersionBecomesCurrent() public {
        vm.expectEmit(address(registry));
        emit IModelRegistry.VersionPublished(modelId, 1, DIGEST_1, 0, uint64(block.timestamp));
        vm.expectEmit(address(registry));
        emit IModelRegistry.CurrentVersionChanged(modelId, 0, 1);
        uint32 v = _publish(modelId, DIGEST_1, 0);
        assertEq(v, 1);
        (uint32 current, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(current, 1);
        assertEq(digest, DIGEST_1);
        IModelRegistry.Version memory version = registry.getVersion(modelId, 1);
        assertEq(version.manifestDigest, DIGEST_1);
        assertEq(version.parentVersion, 0);
        assertEq(version.publishedAt, block.timestamp);
        assertEq(uint8(version.status), uint8(IModelRegistry.VersionStatus.Active));
    }

    function test_publishVersion_appendsWithParent() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectEmit(address(registry));
        emit IModelRegistry.CurrentVersionChanged(modelId, 1, 2);
        assertEq(_publish(modelId, DIGEST_2, 1), 2);
        assertEq(_publish(modelId, DIGEST_3, 1), 3); // a branch from v1: any existing version may be parent
        (, uint32 count, uint32 current,) = registry.getModel(modelId);
        assertEq(count, 3);
        assertEq(current, 3);
        assertEq(registry.getVersion(modelId, 3).parentVersion, 1);
    }

    function test_publishVersion_usesTwoStorageSlotsPerVersion() public {
        _publish(modelId, DIGEST_1, 0);
        vm.record();
        _publish(modelId, DIGEST_2, 1);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        // model slot (count + current) + digest slot + (parent, publishedAt, status) slot
        uint256 distinct;
        for (uint256 i = 0; i < writes.length; ++i) {
            bool seen;
            for (uint256 j = 0; j < i; ++j) {
                if (writes[j] == writes[i]) seen = true;
            }
            if (!seen) ++distinct;
        }
        assertEq(distinct, 3);
    }

    function test_publishVersion_revertsIfNotOwner() public {
        _expectNotOwner(outsider);
        registry.publishVersion(modelId, DIGEST_1, 0);
    }

    function test_publishVersion_revertsIfGuardian() public {
        _expectNotOwner(guardian);
        registry.publishVersion(modelId, DIGEST_1, 0);
    }

    function test_publishVersion_revertsIfUnknownModel() public {
        vm.startPrank(address(timelock));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 0));
        registry.publishVersion(0, DIGEST_1, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 2));
        registry.publishVersion(2, DIGEST_1, 0);
        vm.stopPrank();
    }

    function test_publishVersion_revertsIfZeroDigest() public {
        vm.expectRevert(IModelRegistry.ModelRegistryZeroDigest.selector);
        vm.prank(address(timelock));
        registry.publishVersion(modelId, bytes32(0), 0);
    }

    function test_publishVersion_revertsIfFirstVersionHasParent() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidParent.selector, modelId, 1));
        vm.prank(address(timelock));
        registry.publishVersion(modelId, DIGEST_1, 1);
    }

    function test_publishVersion_revertsIfLaterVersionHasNoParent() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidParent.selector, modelId, 0));
        vm.prank(address(timelock));
        registry.publishVersion(modelId, DIGEST_2, 0);
    }

    function test_publishVersion_parentBoundary() public {
        _publish(modelId, DIGEST_1, 0);
        _publish(modelId, DIGEST_2, 1);
        // versionCount + 1 does not exist yet
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidParent.selector, modelId, 3));
        vm.prank(address(timelock));
        registry.publishVersion(modelId, DIGEST_3, 3);
        // versionCount does
        assertEq(_publish(modelId, DIGEST_3, 2), 3);
    }

    // ---- setCurrentVersion -------------------------------------------------------------------------

    function test_setCurrentVersion_rollsBack() public {
        _publish(modelId, DIGEST_1, 0);
        _publish(modelId, DIGEST_2, 1);
        vm.expectEmit(address(registry));
        emit IModelRegistry.CurrentVersionChanged(modelId, 2, 1);
        vm.prank(address(timelock));
        registry.setCurrentVersion(modelId, 1);
        (uint32 current, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(current, 1);
        assertEq(digest, DIGEST_1);
    }

    function test_setCurrentVersion_zeroClearsCurrent() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(address(timelock));
        registry.setCurrentVersion(modelId, 0);
        (uint32 current, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(current, 0);
        assertEq(digest, bytes32(0));
    }

    function test_setCurrentVersion_revertsIfNotOwner() public {
        _publish(modelId, DIGEST_1, 0);
        _expectNotOwner(guardian);
        registry.setCurrentVersion(modelId, 1);
    }

    function test_setCurrentVersion_revertsIfUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 7));
        vm.prank(address(timelock));
        registry.setCurrentVersion(7, 0);
    }

    function test_setCurrentVersion_revertsIfUnknownVersion() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownVersion.selector, modelId, 2));
        vm.prank(address(timelock));
        registry.setCurrentVersion(modelId, 2);
    }

    function test_setCurrentVersion_revertsIfDeprecated() public {
        _publish(modelId, DIGEST_1, 0);
        vm.startPrank(address(timelock));
        registry.deprecateVersion(modelId, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IModelRegistry.ModelRegistryVersionNotActive.selector,
                modelId,
                1,
                IModelRegistry.VersionStatus.Deprecated
            )
        );
        registry.setCurrentVersion(modelId, 1);
        vm.stopPrank();
    }

    function test_setCurrentVersion_revertsIfRevoked() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
        vm.expectPartialRevert(IModelRegistry.ModelRegistryVersionNotActive.selector);
        vm.prank(address(timelock));
        registry.setCurrentVersion(modelId, 1);
    }

    // ---- deprecateVersion --------------------------------------------------------------------------

    function test_deprecateVersion_nonCurrentKeepsCurrent() public {
        _publish(modelId, DIGEST_1, 0);
        _publish(modelId, DIGEST_2, 1);
        vm.expectEmit(address(registry));
        emit IModelRegistry.VersionStatusChanged(
            modelId, 1, IModelRegistry.VersionStatus.Active, IModelRegistry.VersionStatus.Deprecated, address(timelock)
        );
        vm.prank(address(timelock));
        registry.deprecateVersion(modelId, 1);
        (uint32 current,) = registry.currentVersion(modelId);
        assertEq(current, 2);
        assertEq(uint8(registry.getVersion(modelId, 1).status), uint8(IModelRegistry.VersionStatus.Deprecated));
    }

    function test_deprecateVersion_currentLeavesNoCurrent() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectEmit(address(registry));
        emit IModelRegistry.CurrentVersionChanged(modelId, 1, 0);
        vm.prank(address(timelock));
        registry.deprecateVersion(modelId, 1);
        (uint32 current, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(current, 0);
        assertEq(digest, bytes32(0));
        assertEq(registry.getVersion(modelId, 1).manifestDigest, DIGEST_1);
    }

    function test_deprecateVersion_revertsIfNotOwner() public {
        _publish(modelId, DIGEST_1, 0);
        _expectNotOwner(guardian);
        registry.deprecateVersion(modelId, 1);
    }

    function test_deprecateVersion_revertsIfUnknownModel() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownModel.selector);
        vm.prank(address(timelock));
        registry.deprecateVersion(9, 1);
    }

    function test_deprecateVersion_revertsIfUnknownVersion() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownVersion.selector, modelId, 0));
        vm.prank(address(timelock));
        registry.deprecateVersion(modelId, 0);
    }

    function test_deprecateVersion_revertsIfNotActive() public {
        _publish(modelId, DIGEST_1, 0);
        vm.startPrank(address(timelock));
        registry.deprecateVersion(modelId, 1);
        vm.expectPartialRevert(IModelRegistry.ModelRegistryVersionNotActive.selector);
        registry.deprecateVersion(modelId, 1);
        registry.revokeVersion(modelId, 1);
        vm.expectPartialRevert(IModelRegistry.ModelRegistryVersionNotActive.selector);
        registry.deprecateVersion(modelId, 1);
        vm.stopPrank();
    }

    // ---- revokeVersion -----------------------------------------------------------------------------

    function test_revokeVersion_byGuardianClearsCurrent() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectEmit(address(registry));
        emit IModelRegistry.VersionStatusChanged(
            modelId, 1, IModelRegistry.VersionStatus.Active, IModelRegistry.VersionStatus.Revoked, guardian
        );
        vm.expectEmit(address(registry));
        emit IModelRegistry.CurrentVersionChanged(modelId, 1, 0);
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
        (uint32 current,) = registry.currentVersion(modelId);
        assertEq(current, 0);
        assertEq(uint8(registry.getVersion(modelId, 1).status), uint8(IModelRegistry.VersionStatus.Revoked));
    }

    function test_revokeVersion_byOwner() public {
        _publish(modelId, DIGEST_1, 0);
        _publish(modelId, DIGEST_2, 1);
        vm.prank(address(timelock));
        registry.revokeVersion(modelId, 1);
        (uint32 current,) = registry.currentVersion(modelId);
        assertEq(current, 2); // revoking a non-current version leaves the current one
    }

    function test_revokeVersion_fromDeprecated() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(address(timelock));
        registry.deprecateVersion(modelId, 1);
        vm.expectEmit(address(registry));
        emit IModelRegistry.VersionStatusChanged(
            modelId, 1, IModelRegistry.VersionStatus.Deprecated, IModelRegistry.VersionStatus.Revoked, guardian
        );
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
    }

    function test_revokeVersion_revertsIfNeitherOwnerNorGuardian() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnauthorizedRevoker.selector, outsider));
        vm.prank(outsider);
        registry.revokeVersion(modelId, 1);
    }

    function test_revokeVersion_revertsIfFormerGuardian() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(address(timelock));
        registry.setGuardian(outsider);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnauthorizedRevoker.selector, guardian));
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
        vm.prank(outsider);
        registry.revokeVersion(modelId, 1);
    }

    function test_revokeVersion_revertsIfAlreadyRevoked() public {
        _publish(modelId, DIGEST_1, 0);
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryVersionAlreadyRevoked.selector, modelId, 1));
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
    }

    function test_revokeVersion_revertsIfUnknownModel() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownModel.selector);
        vm.prank(guardian);
        registry.revokeVersion(2, 1);
    }

    function test_revokeVersion_revertsIfUnknownVersion() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownVersion.selector);
        vm.prank(guardian);
        registry.revokeVersion(modelId, 1);
    }

    // ---- setAccessRule -----------------------------------------------------------------------------

    function test_setAccessRule_emitsPreviousAndNew() public {
        MockERC20 t = new MockERC20();
        IModelRegistry.AccessRule memory rule = _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 10);
        vm.expectEmit(address(registry));
        emit IModelRegistry.AccessRuleChanged(modelId, _public(), rule);
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, rule);
        (,,, IModelRegistry.AccessRule memory stored) = registry.getModel(modelId);
        assertEq(stored.token, address(t));
        assertEq(stored.minBalance, 10);

        IModelRegistry.AccessRule memory allowlist = _rule(IModelRegistry.AccessKind.Allowlist, address(0), 0);
        vm.expectEmit(address(registry));
        emit IModelRegistry.AccessRuleChanged(modelId, rule, allowlist);
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, allowlist);
    }

    function test_setAccessRule_revertsIfNotOwner() public {
        _expectNotOwner(outsider);
        registry.setAccessRule(modelId, _public());
    }

    function test_setAccessRule_revertsIfUnknownModel() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownModel.selector);
        vm.prank(address(timelock));
        registry.setAccessRule(3, _public());
    }

    function test_setAccessRule_revertsIfInvalid() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryInvalidAccessRule.selector);
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(0), 1));
    }

    // ---- setAllowlist ------------------------------------------------------------------------------

    function test_setAllowlist_addsAndRemoves() public {
        address[] memory accounts = new address[](2);
        accounts[0] = outsider;
        accounts[1] = maintainer;
        vm.expectEmit(address(registry));
        emit IModelRegistry.AllowlistUpdated(modelId, outsider, true);
        vm.expectEmit(address(registry));
        emit IModelRegistry.AllowlistUpdated(modelId, maintainer, true);
        vm.prank(address(timelock));
        registry.setAllowlist(modelId, accounts, true);
        assertTrue(registry.isAllowlisted(modelId, outsider));
        assertTrue(registry.isAllowlisted(modelId, maintainer));

        address[] memory one = new address[](1);
        one[0] = outsider;
        vm.prank(address(timelock));
        registry.setAllowlist(modelId, one, false);
        assertFalse(registry.isAllowlisted(modelId, outsider));
        assertTrue(registry.isAllowlisted(modelId, maintainer));
    }

    function test_setAllowlist_revertsIfNotOwner() public {
        _expectNotOwner(guardian);
        registry.setAllowlist(modelId, new address[](0), true);
    }

    function test_setAllowlist_revertsIfUnknownModel() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownModel.selector);
        vm.prank(address(timelock));
        registry.setAllowlist(5, new address[](0), true);
    }

    // ---- setGuardian -------------------------------------------------------------------------------

    function test_setGuardian_replacesAndClears() public {
        vm.expectEmit(address(registry));
        emit IModelRegistry.GuardianChanged(guardian, outsider);
        vm.prank(address(timelock));
        registry.setGuardian(outsider);
        assertEq(registry.guardian(), outsider);
        vm.prank(address(timelock));
        registry.setGuardian(address(0));
        assertEq(registry.guardian(), address(0));
    }

    function test_setGuardian_revertsIfNotOwner() public {
        _expectNotOwner(guardian);
        registry.setGuardian(outsider);
    }

    // ---- canAccess ---------------------------------------------------------------------------------

    function test_canAccess_public() public view {
        assertTrue(registry.canAccess(modelId, outsider));
        assertTrue(registry.canAccess(modelId, address(0)));
    }

    function test_canAccess_allowlist() public {
        vm.startPrank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.Allowlist, address(0), 0));
        address[] memory accounts = new address[](1);
        accounts[0] = maintainer;
        registry.setAllowlist(modelId, accounts, true);
        vm.stopPrank();
        assertTrue(registry.canAccess(modelId, maintainer));
        assertFalse(registry.canAccess(modelId, outsider));
    }

    function test_canAccess_allowlistIgnoredUnderOtherRules() public {
        address[] memory accounts = new address[](1);
        accounts[0] = maintainer;
        MockERC20 t = new MockERC20();
        vm.startPrank(address(timelock));
        registry.setAllowlist(modelId, accounts, true);
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 1));
        vm.stopPrank();
        assertFalse(registry.canAccess(modelId, maintainer));
    }

    function test_canAccess_erc20BalanceBoundary() public {
        MockERC20 t = new MockERC20();
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 100));
        t.mint(maintainer, 99);
        assertFalse(registry.canAccess(modelId, maintainer));
        t.mint(maintainer, 1);
        assertTrue(registry.canAccess(modelId, maintainer));
    }

    function test_canAccess_governanceTokenHolders() public {
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(token), 1e18));
        assertTrue(registry.canAccess(modelId, holders[2]));
        assertFalse(registry.canAccess(modelId, outsider));
    }

    function test_canAccess_erc721() public {
        MockERC721 nft = new MockERC721();
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(nft), 1));
        assertFalse(registry.canAccess(modelId, maintainer));
        nft.mint(maintainer, 42);
        assertTrue(registry.canAccess(modelId, maintainer));
    }

    function test_canAccess_falseIfTokenReverts() public {
        RevertingToken t = new RevertingToken();
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 1));
        assertFalse(registry.canAccess(modelId, maintainer));
    }

    function test_canAccess_falseIfTokenReturnsShortData() public {
        ShortReturnToken t = new ShortReturnToken();
        vm.prank(address(timelock));
        registry.setAccessRule(modelId, _rule(IModelRegistry.AccessKind.TokenHolders, address(t), 1));
        assertFalse(registry.canAccess(modelId, maintainer));
    }

    function test_canAccess_revertsIfUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 2));
        registry.canAccess(2, outsider);
    }

    // ---- views -------------------------------------------------------------------------------------

    function test_currentVersion_noneBeforePublish() public view {
        (uint32 version, bytes32 digest) = registry.currentVersion(modelId);
        assertEq(version, 0);
        assertEq(digest, bytes32(0));
    }

    function test_currentVersion_revertsIfUnknownModel() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownModel.selector);
        registry.currentVersion(0);
    }

    function test_getVersion_revertsIfUnknownVersion() public {
        _publish(modelId, DIGEST_1, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownVersion.selector, modelId, 0));
        registry.getVersion(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownVersion.selector, modelId, 2));
        registry.getVersion(modelId, 2);
    }

    function test_getVersion_revertsIfUnknownModel() public {
        vm.expectPartialRevert(IModelRegistry.ModelRegistryUnknownModel.selector);
        registry.getVersion(2, 1);
    }

    function test_modelIdOf_revertsIfUnknownSlug() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownSlug.selector, "nope"));
        registry.modelIdOf("nope");
    }

    function test_modelIdOf_returnsId() public view {
        assertEq(registry.modelIdOf("tiny-lm"), modelId);
    }

    function test_getModel_revertsIfUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, 2));
        registry.getModel(2);
    }

    function test_isAllowlisted_falseByDefault() public view {
        assertFalse(registry.isAllowlisted(modelId, outsider));
        assertFalse(registry.isAllowlisted(99, outsider));
    }
}
