import { BaseError, ContractFunctionRevertedError, type Address, type Hex } from 'viem';
import { modelRegistryAbi } from '../contracts/generated.ts';
import { chainErrorMessage, connectChain, type ChainConnection, type ChainOptions } from './chain.ts';
import { ModelDaoError } from './errors.ts';
import { isSlug, SLUG_RULE } from '../slug.ts';

export const VERSION_STATUS = ['active', 'deprecated', 'revoked'] as const;
export type VersionStatus = (typeof VERSION_STATUS)[number];
export const ACCESS_KINDS = ['public', 'token-holders', 'allowlist'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

export interface AccessRuleInfo {
  kind: AccessKind;
  token: Address;
  minBalance: bigint;
}

export interface ApprovedVersion {
  chainId: number;
  registry: Address;
  slug: string;
  modelId: bigint;
  version: number;
  /** sha256 of the canonical manifest, as stored on chain: 0x + 64 hex. */
  manifestDigest: Hex;
  status: VersionStatus;
  parentVersion: number;
  publishedAt: number;
  /** True when this is the model's current version. */
  isCurrent: boolean;
  currentVersion: number;
  versionCount: number;
  access: AccessRuleInfo;
  /** Every read above was made at this block. */
  blockNumber: bigint;
}

export interface ResolveOptions extends ChainOptions {
  slug: string;
  /** A specific version; default the current one. */
  version?: number;
  /** Reuse a connection (otherwise one is opened from the options). */
  chain?: ChainConnection;
  /** Read at this block (from latestBlock); default the latest one. */
  blockNumber?: bigint;
}

export function isRevert(err: unknown): string | null {
  if (err instanceof BaseError) {
    const r = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (r) return r.data?.errorName ?? r.reason ?? 'reverted';
  }
  return null;
}

async function read<T>(chain: ChainConnection, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ModelDaoError) throw err;
    const revert = isRevert(err);
    if (revert) throw Object.assign(new ModelDaoError('chain', 'reverted', `${what} reverted: ${revert}`, { cause: err }), { revert });
    throw new ModelDaoError('chain', 'rpc_failed', `reading ${what} from ${chain.rpcUrl} failed: ${chainErrorMessage(err)}`, { cause: err });
  }
}

/** The chain's latest block number (one RPC), for reads that must all see one state. */
export function latestBlock(chain: ChainConnection): Promise<bigint> {
  return read(chain, 'block number', () => chain.client.getBlockNumber());
}

/**
 * Reads from the registry on chain which version of `slug` is approved (the current one, or the
 * requested one) and its manifest digest. This is the only source of trust for pull/verify.
 */
export async function resolveApproved(opts: ResolveOptions): Promise<ApprovedVersion> {
  if (!isSlug(opts.slug)) throw new ModelDaoError('usage', 'invalid_slug', `"${opts.slug}" is not ${SLUG_RULE}`);
  if (opts.version !== undefined && (!Number.isInteger(opts.version) || opts.version < 1 || opts.version > 0xffffffff)) {
    throw new ModelDaoError('usage', 'invalid_version', `--version must be a positive integer`);
  }
  const chain = opts.chain ?? (await connectChain(opts));
  const { client, registry } = chain;
  const blockNumber = opts.blockNumber ?? (await latestBlock(chain));
  const call = <R>(functionName: string, args: unknown[]) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- functionName is a runtime string here; typed reads come with the typed contract calls (#17)
    client.readContract({ address: registry, abi: modelRegistryAbi, functionName, args, blockNumber } as any) as Promise<R>;

  let modelId: bigint;
  try {
    modelId = await read(chain, 'modelIdOf', () => call<bigint>('modelIdOf', [opts.slug]));
  } catch (err) {
    if (err instanceof ModelDaoError && err.code === 'reverted') {
      throw new ModelDaoError('not_found', 'unknown_model', `no model "${opts.slug}" in registry ${registry} on chain ${chain.chainId}`);
    }
    throw err;
  }
  if (modelId === 0n) throw new ModelDaoError('not_found', 'unknown_model', `no model "${opts.slug}" in registry ${registry} on chain ${chain.chainId}`);
  const [, versionCount, current, rule] = await read(chain, 'getModel', () =>
    call<readonly [string, number, number, { kind: number; token: Address; minBalance: bigint }]>('getModel', [modelId]),
  );
  const access: AccessRuleInfo = { kind: ACCESS_KINDS[rule.kind] ?? 'allowlist', token: rule.token, minBalance: rule.minBalance };

  let version = opts.version;
  if (version === undefined) {
    if (current === 0) {
      let reason = 'no version has been published yet';
      if (versionCount > 0) {
        const last = await read(chain, 'getVersion', () => call<{ status: number }>('getVersion', [modelId, versionCount]));
        reason = `the latest version (${versionCount}) is ${VERSION_STATUS[last.status]}; governance has not set another current version`;
      }
      throw new ModelDaoError('not_found', 'no_current_version', `model "${opts.slug}" has no current version: ${reason}`);
    }
    version = current;
  }
  if (version > versionCount) {
    throw new ModelDaoError('not_found', 'unknown_version', `model "${opts.slug}" has ${versionCount} version(s); there is no version ${version}`);
  }
  const v = await read(chain, 'getVersion', () =>
    call<{ manifestDigest: Hex; parentVersion: number; publishedAt: bigint; status: number }>('getVersion', [modelId, version]),
  );
  const status = VERSION_STATUS[v.status] ?? 'revoked';
  if (status === 'revoked') {
    throw new ModelDaoError('not_found', 'version_revoked', `version ${version} of "${opts.slug}" was revoked on chain; it must not be used`);
  }
  return {
    chainId: chain.chainId,
    registry,
    slug: opts.slug,
    modelId,
    version,
    manifestDigest: v.manifestDigest,
    status,
    parentVersion: Number(v.parentVersion),
    publishedAt: Number(v.publishedAt),
    isCurrent: version === current,
    currentVersion: current,
    versionCount,
    access,
    blockNumber,
  };
}
