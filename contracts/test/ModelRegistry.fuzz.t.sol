// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Fixture} from "./utils/Fixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";
import {MockERC20} from "./mocks/Mocks.sol";

contract ModelRegistryFuzzTest is Fixture {
    /// @dev The slug grammar written out independently: `[a-z0-9][a-z0-9-]{0,63}`.
    function _matchesGrammar(bytes memory s) internal pure returns (bool) {
        if (s.length < 1 || s.length > 64) return false;
        for (uint256 i = 0; i < s.length; ++i) {
            uint8 c = uint8(s[i]);
            bool alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
            if (!(alnum || (i > 0 && c == 0x2d))) return false;
        }
        return true;
    }

    function testFuzz_registerModel_acceptsExactlyTheSlugGrammar(bytes memory raw) public {
        string memory slug = string(raw);
        bool valid = _matchesGrammar(raw);
        if (!valid) vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidSlug.selector, slug));
        vm.prank(address(timelock));
        registry.registerModel(slug, _public());
        if (valid) assertEq(registry.modelIdOf(slug), 1);
    }

    /// @dev Random slugs drawn from the alphabet, to reach valid ones often.
    function testFuzz_registerModel_alphabetSlugs(uint256 seed, uint256 length) public {
        length = bound(length, 1, 70);
        bytes memory alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
        bytes memory s = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            s[i] = alphabet[uint256(keccak256(abi.encode(seed, i))) % alphabet.length];
        }
        bool valid = _matchesGrammar(s);
        if (!valid) vm.expectPartialRevert(IModelRegistry.ModelRegistryInvalidSlug.selector);
        vm.prank(address(timelock));
        uint256 id = registry.registerModel(string(s), _public());
        if (valid) {
            assertEq(registry.modelIdOf(string(s)), id);
            vm.expectPartialRevert(IModelRegistry.ModelRegistrySlugTaken.selector);
            vm.prank(address(timelock));
            registry.registerModel(string(s), _public());
        }
    }

    function testFuzz_publishVersion_digestStoredAndNeverChanges(bytes32 digest, bytes32 other, uint8 extra) public {
        vm.assume(digest != bytes32(0) && other != bytes32(0));
        uint256 id = _register("m");
        _publish(id, digest, 0);
        uint256 n = bound(extra, 1, 10);
        for (uint32 i = 0; i < n; ++i) {
            _publish(id, other, i + 1);
        }
        vm.startPrank(address(timelock));
        registry.setCurrentVersion(id, 1);
        registry.deprecateVersion(id, 2);
        registry.revokeVersion(id, 1);
        vm.stopPrank();
        assertEq(registry.getVersion(id, 1).manifestDigest, digest);
        assertEq(registry.getVersion(id, uint32(n + 1)).manifestDigest, other);
        (, uint32 count,,) = registry.getModel(id);
        assertEq(count, n + 1);
    }

    function testFuzz_accessRule_validity(uint8 kindRaw, address ruleToken, uint256 minBalance, bool useContract)
        public
    {
        IModelRegistry.AccessKind kind = IModelRegistry.AccessKind(bound(kindRaw, 0, 2));
        if (useContract) ruleToken = address(new MockERC20());
        uint256 id = _register("m");
        IModelRegistry.AccessRule memory rule = IModelRegistry.AccessRule(kind, ruleToken, minBalance);
        bool valid = kind == IModelRegistry.AccessKind.TokenHolders
            ? ruleToken.code.length > 0 && minBalance > 0
            : ruleToken == address(0) && minBalance == 0;
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IModelRegistry.ModelRegistryInvalidAccessRule.selector, kind, ruleToken, minBalance
                )
            );
        }
        vm.prank(address(timelock));
        registry.setAccessRule(id, rule);
        (,,, IModelRegistry.AccessRule memory stored) = registry.getModel(id);
        if (valid) {
            assertEq(uint8(stored.kind), uint8(kind));
            assertEq(stored.token, ruleToken);
            assertEq(stored.minBalance, minBalance);
        } else {
            assertEq(uint8(stored.kind), uint8(IModelRegistry.AccessKind.Public));
        }
    }

    function testFuzz_canAccess_tokenHoldersBalance(uint256 minBalance, uint256 balance, address account) public {
        vm.assume(account != address(0)); // ERC-20 cannot mint to the zero address
        minBalance = bound(minBalance, 1, type(uint128).max);
        balance = bound(balance, 0, type(uint128).max);
        MockERC20 t = new MockERC20();
        t.mint(account, balance);
        uint256 id = _register("m");
        vm.prank(address(timelock));
        registry.setAccessRule(
            id, IModelRegistry.AccessRule(IModelRegistry.AccessKind.TokenHolders, address(t), minBalance)
        );
        assertEq(registry.canAccess(id, account), balance >= minBalance);
    }

    function testFuzz_canAccess_allowlist(address account, address other, bool allowed) public {
        vm.assume(account != other);
        uint256 id = _register("m");
        address[] memory accounts = new address[](1);
        accounts[0] = account;
        vm.startPrank(address(timelock));
        registry.setAccessRule(id, IModelRegistry.AccessRule(IModelRegistry.AccessKind.Allowlist, address(0), 0));
        registry.setAllowlist(id, accounts, allowed);
        vm.stopPrank();
        assertEq(registry.canAccess(id, account), allowed);
        assertFalse(registry.canAccess(id, other));
    }

    /// @dev Nobody but the timelock changes anything, and the guardian only revokes.
    function testFuzz_accessControl_onlyOwnerMutates(address caller, uint8 which) public {
        vm.assume(caller != address(timelock));
        uint256 id = _register("m");
        _publish(id, DIGEST_1, 0);
        which = uint8(bound(which, 0, 6));
        bytes memory data;
        if (which == 0) data = abi.encodeCall(ModelRegistry.registerModel, ("n", _public()));
        else if (which == 1) data = abi.encodeCall(ModelRegistry.publishVersion, (id, DIGEST_2, 1));
        else if (which == 2) data = abi.encodeCall(ModelRegistry.setCurrentVersion, (id, 0));
        else if (which == 3) data = abi.encodeCall(ModelRegistry.deprecateVersion, (id, 1));
        else if (which == 4) data = abi.encodeCall(ModelRegistry.setAccessRule, (id, _public()));
        else if (which == 5) data = abi.encodeCall(ModelRegistry.setAllowlist, (id, new address[](1), true));
        else data = abi.encodeCall(ModelRegistry.setGuardian, (caller));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        vm.prank(caller);
        (bool ok,) = address(registry).call(data);
        ok; // expectRevert checks the call above
        // revoke: the guardian may, anyone else may not
        if (caller != guardian) {
            vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnauthorizedRevoker.selector, caller));
            vm.prank(caller);
            registry.revokeVersion(id, 1);
        }
    }
}
