import { decodeEventLog, getAddress, type Address, type Hex } from 'viem';
import { modelGovernorAbi, modelRegistryAbi } from '../contracts/generated.ts';
import { connectChain, type ChainConnection, type ChainOptions } from './chain.ts';
import { ModelDaoError } from './errors.ts';
import { manifestCid } from './ipfs.ts';
import { ACCESS_KINDS, VERSION_STATUS, type AccessRuleInfo, type VersionStatus } from './resolve.ts';

export interface VersionHistoryEntry {
  version: number;
  manifestDigest: Hex;
  /** The manifest as an IPFS block: CIDv1(raw, sha2-256, manifestDigest) — fetch it from any trustless gateway. */
  manifestCid: string;
  parentVersion: number;
  status: VersionStatus;
  publishedAt: number;
  isCurrent: boolean;
  publishedTx?: Hex;
  /** Governor proposal whose execution published it (when found in the same transaction). */
  proposalId?: string;
  /** Who changed the status last (timelock = governance, or the guardian). */
  statusChangedBy?: Address;
  statusChangedTx?: Hex;
}

export interface ModelStatus {
  chainId: number;
  registry: Address;
  slug: string;
  modelId: bigint;
  currentVersion: number;
  access: AccessRuleInfo;
  versions: VersionHistoryEntry[];
  /** When an account was given: whether canAccess(modelId, account) holds. */
  account?: Address;
  canAccess?: boolean;
  blockNumber: bigint;
}

/** Current version, history (who/when, from registry events), access rule and whether `account` may fetch. */
export async function status(opts: ChainOptions & { slug: string; account?: Address; chain?: ChainConnection }): Promise<ModelStatus> {
  const chain = opts.chain ?? (await connectChain(opts));
  const { client, registry } = chain;
  const blockNumber = await client.getBlockNumber();
  let modelId: bigint;
  try {
    modelId = await client.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'modelIdOf', args: [opts.slug], blockNumber });
  } catch {
    throw new ModelDaoError('not_found', 'unknown_model', `no model "${opts.slug}" in registry ${registry} on chain ${chain.chainId}`);
  }
  try {
    const [, versionCount, current, rule] = await client.readContract({
      address: registry,
      abi: modelRegistryAbi,
      functionName: 'getModel',
      args: [modelId],
      blockNumber,
    });
    const versions: VersionHistoryEntry[] = [];
    for (let v = 1; v <= versionCount; v++) {
      const r = await client.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'getVersion', args: [modelId, v], blockNumber });
      versions.push({
        version: v,
        manifestDigest: r.manifestDigest,
        manifestCid: manifestCid(r.manifestDigest.slice(2)).toString(),
        parentVersion: Number(r.parentVersion),
        status: VERSION_STATUS[r.status] ?? 'revoked',
        publishedAt: Number(r.publishedAt),
        isCurrent: v === current,
      });
    }
    const fromBlock = chain.deployBlock ?? 0n;
    const published = await client.getContractEvents({
      address: registry,
      abi: modelRegistryAbi,
      eventName: 'VersionPublished',
      args: { modelId },
      fromBlock,
      toBlock: blockNumber,
    });
    for (const log of published) {
      const entry = versions.find((e) => e.version === Number(log.args.version));
      if (!entry || !log.transactionHash) continue;
      entry.publishedTx = log.transactionHash;
      try {
        const receipt = await client.getTransactionReceipt({ hash: log.transactionHash });
        for (const l of receipt.logs) {
          try {
            const ev = decodeEventLog({ abi: modelGovernorAbi, data: l.data, topics: l.topics });
            if (ev.eventName === 'ProposalExecuted') entry.proposalId = (ev.args as { proposalId: bigint }).proposalId.toString();
          } catch {
            /* not a governor log */
          }
        }
      } catch {
        /* receipt unavailable: leave proposalId unknown */
      }
    }
    const changed = await client.getContractEvents({
      address: registry,
      abi: modelRegistryAbi,
      eventName: 'VersionStatusChanged',
      args: { modelId },
      fromBlock,
      toBlock: blockNumber,
    });
    for (const log of changed) {
      const entry = versions.find((e) => e.version === Number(log.args.version));
      if (!entry) continue;
      entry.statusChangedBy = log.args.by ? getAddress(log.args.by) : undefined;
      entry.statusChangedTx = log.transactionHash ?? undefined;
    }
    let canAccess: boolean | undefined;
    if (opts.account) {
      canAccess = await client.readContract({
        address: registry,
        abi: modelRegistryAbi,
        functionName: 'canAccess',
        args: [modelId, opts.account],
        blockNumber,
      });
    }
    return {
      chainId: chain.chainId,
      registry,
      slug: opts.slug,
      modelId,
      currentVersion: current,
      access: { kind: ACCESS_KINDS[rule.kind] ?? 'allowlist', token: rule.token, minBalance: rule.minBalance },
      versions,
      account: opts.account,
      canAccess,
      blockNumber,
    };
  } catch (err) {
    if (err instanceof ModelDaoError) throw err;
    throw new ModelDaoError('chain', 'rpc_failed', `reading "${opts.slug}" from the chain failed: ${err instanceof Error ? err.message.split('\n')[0] : err}`);
  }
}
