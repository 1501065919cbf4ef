// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title ModelRegistry
/// @notice Which weights of each community model the DAO approved, and who may fetch them.
/// @dev Owned by the timelock, so every change is an executed proposal. The single exception is
/// {revokeVersion}, which the guardian may also call: it can only take a version out of use, never
/// publish or approve one. Every state change emits an event carrying enough (ids, digests, old and new
/// values) to rebuild the registry from logs alone.
contract ModelRegistry is IModelRegistry, Ownable {
    /// @dev Laid out so that `versionCount`, `currentVersion`, `accessKind` and `accessToken` share one slot:
    /// publishing a version rewrites this slot and writes the two fresh slots of the {Version}.
    struct Model {
        uint32 versionCount;
        uint32 currentVersion;
        AccessKind accessKind;
        address accessToken;
        uint256 accessMinBalance;
        string slug;
    }

    uint256 private constant _MAX_SLUG_LENGTH = 64;

    uint256 private _modelCount;
    address private _guardian;
    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => mapping(uint32 version => Version)) private _versions;
    mapping(string slug => uint256 modelId) private _modelIdsBySlug;
    mapping(uint256 modelId => mapping(address account => bool allowed)) private _allowlists;

    modifier onlyKnownModel(uint256 modelId) {
        _requireKnownModel(modelId);
        _;
    }

    /// @param initialOwner The timelock.
    /// @param initialGuardian The security council; may be the zero address (no guardian).
    constructor(address initialOwner, address initialGuardian) Ownable(initialOwner) {
        _setGuardian(initialGuardian);
    }

    // ---------------------------------------------------------------------------------------------
    // Governance (owner) operations
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function registerModel(string calldata slug, AccessRule calldata accessRule)
        external
        virtual
        onlyOwner
        returns (uint256 modelId)
    {
        if (!_isValidSlug(bytes(slug))) revert ModelRegistryInvalidSlug(slug);
        uint256 existing = _modelIdsBySlug[slug];
        if (existing != 0) revert ModelRegistrySlugTaken(slug, existing);
        _validateAccessRule(accessRule);

        modelId = ++_modelCount;
        _modelIdsBySlug[slug] = modelId;
        Model storage model = _models[modelId];
        model.slug = slug;
        model.accessKind = accessRule.kind;
        model.accessToken = accessRule.token;
        model.accessMinBalance = accessRule.minBalance;

        emit ModelRegistered(modelId, slug, accessRule);
    }

    /// @inheritdoc IModelRegistry
    function publishVersion(uint256 modelId, bytes32 manifestDigest, uint32 parentVersion)
        external
        virtual
        onlyOwner
        onlyKnownModel(modelId)
        returns (uint32 version)
    {
        if (manifestDigest == bytes32(0)) revert ModelRegistryZeroDigest();
        Model storage model = _models[modelId];
        uint32 count = model.versionCount;
        bool validParent = count == 0 ? parentVersion == 0 : (parentVersion != 0 && parentVersion <= count);
        if (!validParent) revert ModelRegistryInvalidParent(modelId, parentVersion);

        version = count + 1;
        uint64 publishedAt = uint64(block.timestamp);
        _versions[modelId][version] = Version({
            manifestDigest: manifestDigest,
            parentVersion: parentVersion,
            publishedAt: publishedAt,
            status: VersionStatus.Active
        });
        uint32 previous = model.currentVersion;
        model.versionCount = version;
        model.currentVersion = version;

        emit VersionPublished(modelId, version, manifestDigest, parentVersion, publishedAt);
        emit CurrentVersionChanged(modelId, previous, version);
    }

    /// @inheritdoc IModelRegistry
    function setCurrentVersion(uint256 modelId, uint32 version) external virtual onlyOwner onlyKnownModel(modelId) {
        if (version != 0) {
            VersionStatus status = _requireVersion(modelId, version).status;
            if (status != VersionStatus.Active) revert ModelRegistryVersionNotActive(modelId, version, status);
        }
        _setCurrentVersion(modelId, version);
    }

    /// @inheritdoc IModelRegistry
    function deprecateVersion(uint256 modelId, uint32 version) external virtual onlyOwner onlyKnownModel(modelId) {
        Version storage v = _requireVersion(modelId, version);
        VersionStatus status = v.status;
        if (status != VersionStatus.Active) revert ModelRegistryVersionNotActive(modelId, version, status);
        _setStatus(modelId, version, v, VersionStatus.Deprecated);
    }

    /// @inheritdoc IModelRegistry
    /// @dev The guardian's only power. Revocation is final: a revoked version never becomes current again.
    function revokeVersion(uint256 modelId, uint32 version) external virtual onlyKnownModel(modelId) {
        if (msg.sender != owner() && msg.sender != _guardian) revert ModelRegistryUnauthorizedRevoker(msg.sender);
        Version storage v = _requireVersion(modelId, version);
        if (v.status == VersionStatus.Revoked) revert ModelRegistryVersionAlreadyRevoked(modelId, version);
        _setStatus(modelId, version, v, VersionStatus.Revoked);
    }

    /// @inheritdoc IModelRegistry
    function setAccessRule(uint256 modelId, AccessRule calldata accessRule)
        external
        virtual
        onlyOwner
        onlyKnownModel(modelId)
    {
        _validateAccessRule(accessRule);
        Model storage model = _models[modelId];
        AccessRule memory previousRule = AccessRule(model.accessKind, model.accessToken, model.accessMinBalance);
        model.accessKind = accessRule.kind;
        model.accessToken = accessRule.token;
        model.accessMinBalance = accessRule.minBalance;
        emit AccessRuleChanged(modelId, previousRule, accessRule);
    }

    /// @inheritdoc IModelRegistry
    /// @dev The allowlist is kept whatever the rule; it only decides access while the rule is Allowlist.
    function setAllowlist(uint256 modelId, address[] calldata accounts, bool allowed)
        external
        virtual
        onlyOwner
        onlyKnownModel(modelId)
    {
        mapping(address account => bool allowed) storage allowlist = _allowlists[modelId];
        for (uint256 i = 0; i < accounts.length; ++i) {
            allowlist[accounts[i]] = allowed;
            emit AllowlistUpdated(modelId, accounts[i], allowed);
        }
    }

    /// @inheritdoc IModelRegistry
    /// @dev The zero address leaves the registry without a guardian.
    function setGuardian(address newGuardian) external virtual onlyOwner {
        _setGuardian(newGuardian);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    /// @dev For TokenHolders, a token whose `balanceOf` reverts or returns garbage denies access rather
    /// than reverting, so a broken token cannot make the whole API fail.
    function canAccess(uint256 modelId, address account) external view virtual onlyKnownModel(modelId) returns (bool) {
        Model storage model = _models[modelId];
        AccessKind kind = model.accessKind;
        if (kind == AccessKind.Public) return true;
        if (kind == AccessKind.Allowlist) return _allowlists[modelId][account];
        (bool success, bytes memory data) = model.accessToken.staticcall(abi.encodeCall(IERC20.balanceOf, (account)));
        if (!success || data.length < 32) return false;
        return abi.decode(data, (uint256)) >= model.accessMinBalance;
    }

    /// @inheritdoc IModelRegistry
    /// @dev Returns (0, 0) while the model has no current version.
    function currentVersion(uint256 modelId)
        external
        view
        virtual
        onlyKnownModel(modelId)
        returns (uint32 version, bytes32 manifestDigest)
    {
        version = _models[modelId].currentVersion;
        if (version != 0) manifestDigest = _versions[modelId][version].manifestDigest;
    }

    /// @inheritdoc IModelRegistry
    function getVersion(uint256 modelId, uint32 version)
        external
        view
        virtual
        onlyKnownModel(modelId)
        returns (Version memory)
    {
        return _requireVersion(modelId, version);
    }

    /// @inheritdoc IModelRegistry
    function modelIdOf(string calldata slug) external view virtual returns (uint256 modelId) {
        modelId = _modelIdsBySlug[slug];
        if (modelId == 0) revert ModelRegistryUnknownSlug(slug);
    }

    /// @inheritdoc IModelRegistry
    function getModel(uint256 modelId)
        external
        view
        virtual
        onlyKnownModel(modelId)
        returns (string memory slug, uint32 versionCount, uint32 current, AccessRule memory accessRule)
    {
        Model storage model = _models[modelId];
        return (
            model.slug,
            model.versionCount,
            model.currentVersion,
            AccessRule(model.accessKind, model.accessToken, model.accessMinBalance)
        );
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view virtual returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IModelRegistry
    function isAllowlisted(uint256 modelId, address account) external view virtual returns (bool) {
        return _allowlists[modelId][account];
    }

    /// @inheritdoc IModelRegistry
    function guardian() external view virtual returns (address) {
        return _guardian;
    }

    // ---------------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------------

    function _setCurrentVersion(uint256 modelId, uint32 version) internal virtual {
        Model storage model = _models[modelId];
        uint32 previous = model.currentVersion;
        model.currentVersion = version;
        emit CurrentVersionChanged(modelId, previous, version);
    }

    /// @dev Moves `v` to `newStatus`; a version that leaves Active can no longer be current.
    function _setStatus(uint256 modelId, uint32 version, Version storage v, VersionStatus newStatus) internal virtual {
        VersionStatus previousStatus = v.status;
        v.status = newStatus;
        emit VersionStatusChanged(modelId, version, previousStatus, newStatus, msg.sender);
        if (_models[modelId].currentVersion == version) _setCurrentVersion(modelId, 0);
    }

    function _setGuardian(address newGuardian) internal virtual {
        address previousGuardian = _guardian;
        _guardian = newGuardian;
        emit GuardianChanged(previousGuardian, newGuardian);
    }

    function _requireKnownModel(uint256 modelId) internal view virtual {
        if (modelId == 0 || modelId > _modelCount) revert ModelRegistryUnknownModel(modelId);
    }

    function _requireVersion(uint256 modelId, uint32 version) internal view virtual returns (Version storage v) {
        if (version == 0 || version > _models[modelId].versionCount) {
            revert ModelRegistryUnknownVersion(modelId, version);
        }
        return _versions[modelId][version];
    }

    function _validateAccessRule(AccessRule calldata accessRule) internal view virtual {
        bool valid = accessRule.kind == AccessKind.TokenHolders
            ? accessRule.token.code.length != 0 && accessRule.minBalance != 0
            : accessRule.token == address(0) && accessRule.minBalance == 0;
        if (!valid) revert ModelRegistryInvalidAccessRule(accessRule.kind, accessRule.token, accessRule.minBalance);
    }

    /// @dev `[a-z0-9][a-z0-9-]{0,63}`
    function _isValidSlug(bytes calldata slug) internal pure virtual returns (bool) {
        uint256 length = slug.length;
        if (length == 0 || length > _MAX_SLUG_LENGTH || slug[0] == "-") return false;
        for (uint256 i = 0; i < length; ++i) {
            bytes1 c = slug[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) return false;
        }
        return true;
    }
}
