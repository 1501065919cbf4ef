// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice Which weights of each community model the DAO approved, and who may fetch them.
/// The registry is owned by the timelock: every change goes through an executed proposal, except
/// `revokeVersion`, which the guardian (security council) may also call.
interface IModelRegistry {
    enum VersionStatus {
        Active,
        Deprecated,
        Revoked
    }

    enum AccessKind {
        Public,
        TokenHolders,
        Allowlist
    }

    /// @dev For TokenHolders: `token` is an ERC-20 or ERC-721 and `minBalance` the balance an account
    /// needs (balanceOf >= minBalance). For Public and Allowlist both fields are zero.
    struct AccessRule {
        AccessKind kind;
        address token;
        uint256 minBalance;
    }

    /// @dev Packs into two slots: the digest, then parent + publishedAt + status.
    struct Version {
        bytes32 manifestDigest;
        uint32 parentVersion;
        uint64 publishedAt;
        VersionStatus status;
    }

    /// @dev The slug does not match `[a-z0-9][a-z0-9-]{0,63}`.
    error ModelRegistryInvalidSlug(string slug);
    /// @dev Another model already uses this slug.
    error ModelRegistrySlugTaken(string slug, uint256 modelId);
    /// @dev No model uses this slug.
    error ModelRegistryUnknownSlug(string slug);
    /// @dev No model has this id.
    error ModelRegistryUnknownModel(uint256 modelId);
    /// @dev The model has no version with this number.
    error ModelRegistryUnknownVersion(uint256 modelId, uint32 version);
    /// @dev A manifest digest is the sha256 of a manifest and never zero.
    error ModelRegistryZeroDigest();
    /// @dev The parent is 0 for a model's first version and an existing version of the model afterwards.
    error ModelRegistryInvalidParent(uint256 modelId, uint32 parentVersion);
    /// @dev The operation needs an Active version.
    error ModelRegistryVersionNotActive(uint256 modelId, uint32 version, VersionStatus status);
    /// @dev The version is already revoked; revocation is final.
    error ModelRegistryVersionAlreadyRevoked(uint256 modelId, uint32 version);
    /// @dev Only the owner (timelock) or the guardian may revoke a version.
    error ModelRegistryUnauthorizedRevoker(address caller);
    /// @dev Public and Allowlist rules carry no token and no balance; TokenHolders needs a contract and a
    /// balance above zero.
    error ModelRegistryInvalidAccessRule(AccessKind kind, address token, uint256 minBalance);

    event ModelRegistered(uint256 indexed modelId, string slug, AccessRule accessRule);
    event VersionPublished(
        uint256 indexed modelId,
        uint32 indexed version,
        bytes32 indexed manifestDigest,
        uint32 parentVersion,
        uint64 publishedAt
    );
    event CurrentVersionChanged(uint256 indexed modelId, uint32 previousVersion, uint32 newVersion);
    event VersionStatusChanged(
        uint256 indexed modelId,
        uint32 indexed version,
        VersionStatus previousStatus,
        VersionStatus newStatus,
        address indexed by
    );
    event AccessRuleChanged(uint256 indexed modelId, AccessRule previousRule, AccessRule newRule);
    event AllowlistUpdated(uint256 indexed modelId, address indexed account, bool allowed);
    event GuardianChanged(address previousGuardian, address newGuardian);

    /// @notice Registers a model; ids start at 1. Slug: `[a-z0-9][a-z0-9-]{0,63}`, unique. Owner only.
    /// @dev Emits {ModelRegistered}. Reverts with {ModelRegistryInvalidSlug}, {ModelRegistrySlugTaken} or
    /// {ModelRegistryInvalidAccessRule}.
    function registerModel(string calldata slug, AccessRule calldata accessRule) external returns (uint256 modelId);

    /// @notice Appends version `versionCount + 1` (Active) and makes it the current version.
    /// `parentVersion` is 0 for the first version, otherwise an existing version of the model. Owner only.
    /// @dev Emits {VersionPublished}, then {CurrentVersionChanged}. Reverts with {ModelRegistryUnknownModel},
    /// {ModelRegistryZeroDigest} or {ModelRegistryInvalidParent}.
    function publishVersion(uint256 modelId, bytes32 manifestDigest, uint32 parentVersion)
        external
        returns (uint32 version);

    /// @notice Makes an Active version current (rollback included); 0 means no current version. Owner only.
    /// @dev Emits {CurrentVersionChanged}. Reverts with {ModelRegistryUnknownModel},
    /// {ModelRegistryUnknownVersion} or {ModelRegistryVersionNotActive}.
    function setCurrentVersion(uint256 modelId, uint32 version) external;

    /// @notice Active -> Deprecated. Deprecating the current version leaves the model without one. Owner only.
    /// @dev Emits {VersionStatusChanged}, then {CurrentVersionChanged} (to 0) if the version was current.
    /// Reverts with {ModelRegistryUnknownModel}, {ModelRegistryUnknownVersion} or
    /// {ModelRegistryVersionNotActive}.
    function deprecateVersion(uint256 modelId, uint32 version) external;

    /// @notice Active/Deprecated -> Revoked, for good. Owner or guardian. Revoking the current version
    /// leaves the model without one until governance sets another.
    /// @dev Emits {VersionStatusChanged}, then {CurrentVersionChanged} (to 0) if the version was current.
    /// Reverts with {ModelRegistryUnknownModel}, {ModelRegistryUnauthorizedRevoker},
    /// {ModelRegistryUnknownVersion} or {ModelRegistryVersionAlreadyRevoked}.
    function revokeVersion(uint256 modelId, uint32 version) external;

    /// @notice Replaces the model's access rule. Owner only.
    /// @dev Emits {AccessRuleChanged}. Reverts with {ModelRegistryUnknownModel} or
    /// {ModelRegistryInvalidAccessRule}.
    function setAccessRule(uint256 modelId, AccessRule calldata accessRule) external;

    /// @notice Adds `accounts` to (or removes them from) the model's allowlist. Owner only.
    /// @dev Emits {AllowlistUpdated} once per account. Reverts with {ModelRegistryUnknownModel}.
    function setAllowlist(uint256 modelId, address[] calldata accounts, bool allowed) external;

    /// @notice Sets the guardian (security council) that may revoke versions. Owner only.
    /// @dev Emits {GuardianChanged}.
    function setGuardian(address newGuardian) external;

    function canAccess(uint256 modelId, address account) external view returns (bool);
    function currentVersion(uint256 modelId) external view returns (uint32 version, bytes32 manifestDigest);
    function getVersion(uint256 modelId, uint32 version) external view returns (Version memory);
    /// @notice Reverts with ModelRegistryUnknownSlug for an unregistered slug.
    function modelIdOf(string calldata slug) external view returns (uint256);
    function getModel(uint256 modelId)
        external
        view
        returns (string memory slug, uint32 versionCount, uint32 current, AccessRule memory accessRule);
    function modelCount() external view returns (uint256);
    function isAllowlisted(uint256 modelId, address account) external view returns (bool);
    function guardian() external view returns (address);
}
