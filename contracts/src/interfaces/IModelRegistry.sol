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

    /// @notice Registers a model; ids start at 1. Slug: `[a-z0-9][a-z0-9-]{0,63}`, unique.
    function registerModel(string calldata slug, AccessRule calldata accessRule) external returns (uint256 modelId);

    /// @notice Appends version `versionCount + 1` (Active) and makes it the current version.
    /// `parentVersion` is 0 for the first version, otherwise an existing version of the model.
    function publishVersion(uint256 modelId, bytes32 manifestDigest, uint32 parentVersion)
        external
        returns (uint32 version);

    /// @notice Makes an Active version current (rollback included); 0 means no current version.
    function setCurrentVersion(uint256 modelId, uint32 version) external;

    /// @notice Active -> Deprecated. Deprecating the current version leaves the model without one.
    function deprecateVersion(uint256 modelId, uint32 version) external;

    /// @notice Active/Deprecated -> Revoked, for good. Owner or guardian. Revoking the current version
    /// leaves the model without one until governance sets another.
    function revokeVersion(uint256 modelId, uint32 version) external;

    function setAccessRule(uint256 modelId, AccessRule calldata accessRule) external;
    function setAllowlist(uint256 modelId, address[] calldata accounts, bool allowed) external;
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
