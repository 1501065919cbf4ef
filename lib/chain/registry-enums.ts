/**
 * The one TypeScript copy of IModelRegistry's enums, by value: index i is the Solidity value i
 * (`AccessKind`, `VersionStatus`). The index stores these names; pages and decoders show them.
 */
export const ACCESS_KINDS = ['Public', 'TokenHolders', 'Allowlist'] as const;
export type AccessKindName = (typeof ACCESS_KINDS)[number];

export const VERSION_STATUSES = ['Active', 'Deprecated', 'Revoked'] as const;
export type VersionStatusName = (typeof VERSION_STATUSES)[number];

/** The name of an AccessKind value; an unknown value (a newer contract) as its number. */
export function accessKindName(kind: number | bigint | string): string {
  return ACCESS_KINDS[Number(kind)] ?? String(kind);
}

/** The name of a VersionStatus value; an unknown value as its number. */
export function versionStatusName(status: number | bigint | string): string {
  return VERSION_STATUSES[Number(status)] ?? String(status);
}
