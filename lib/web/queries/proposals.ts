import 'server-only';
import { cache } from 'react';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { governorSettings, model, proposal, vote } from '@/db/schema';
import { modelGovernorAbi, modelTokenAbi } from '@/lib/contracts/generated';
import { deriveProposalState, ProposalState } from '@/lib/chain/proposal-state';
import { getEnv } from '@/lib/web/server-env';
import { decodeActions, proposalTitle, type DecodedAction, type ManifestBrief } from '@/lib/web/actions';
import { getDb } from './db';
import { getChainClient, getChainNow, getDeployment } from './chain';
import { getTokenSymbol } from './token';

export interface ProposalRow {
  id: string;
  proposer: string;
  title: string;
  description: string;
  state: ProposalState;
  voteStart: number;
  voteEnd: number;
  extended: boolean;
  eta: number | null;
  forVotes: string;
  againstVotes: string;
  abstainVotes: string;
  quorum: string;
  voteCount: number;
  createdAt: number;
  createdTx: string;
  queuedAt: number | null;
  queuedTx: string | null;
  executedAt: number | null;
  executedTx: string | null;
  canceledAt: number | null;
  canceledTx: string | null;
  targets: string[];
  values: string[];
  calldatas: string[];
  actions: DecodedAction[];
  /** slugs of the models the actions touch */
  models: string[];
}

const sec = (d: Date | null | undefined) => (d ? Math.floor(d.getTime() / 1000) : null);

/** Governance parameters: the indexed settings where changed, else the deployment record. */
export const getGovernanceParams = cache(async () => {
  const db = await getDb();
  const env = getEnv();
  const [s] = await db.select().from(governorSettings).where(eq(governorSettings.chainId, env.CHAIN_ID)).limit(1);
  const d = getDeployment()?.governance;
  return {
    votingDelay: s?.votingDelay ?? d?.votingDelay ?? null,
    votingPeriod: s?.votingPeriod ?? d?.votingPeriod ?? null,
    proposalThreshold: BigInt(s?.proposalThreshold ?? d?.proposalThreshold ?? '0'),
    quorumNumerator: Number(s?.quorumNumerator ?? d?.quorumNumerator ?? 4),
    lateQuorumExtension: s?.lateQuorumVoteExtension ?? d?.lateQuorumExtension ?? null,
    timelockDelay: s?.timelockMinDelay ?? d?.timelockDelay ?? null,
  };
});

/** Token supply, read once per request (the list's quorum = supply × numerator / 100). */
export const getTotalSupply = cache(async (): Promise<bigint> => {
  const dep = getDeployment();
  if (!dep) return 0n;
  try {
    return await getChainClient().readContract({ address: dep.contracts.ModelToken, abi: modelTokenAbi, functionName: 'totalSupply' });
  } catch {
    return 0n;
  }
});

function contractsInfo() {
  const dep = getDeployment();
  return dep
    ? { token: dep.contracts.ModelToken, governor: dep.contracts.ModelGovernor, timelock: dep.contracts.TimelockController, registry: dep.contracts.ModelRegistry }
    : null;
}

/** What decoding actions needs: contract addresses, model names, version counts. */
export const getDecodeContext = cache(async () => {
  const db = await getDb();
  const rows = await db
    .select({ id: model.modelId, slug: model.slug, versionCount: model.versionCount })
    .from(model)
    .where(eq(model.chainId, getEnv().CHAIN_ID));
  return {
    contracts: contractsInfo(),
    slugs: Object.fromEntries(rows.map((r) => [String(r.id), r.slug])),
    versionCounts: undefined as Record<string, number> | undefined,
    versionCountsNow: Object.fromEntries(rows.map((r) => [String(r.id), r.versionCount])),
    manifests: undefined as Record<string, ManifestBrief | undefined> | undefined,
    tokenSymbol: await getTokenSymbol(),
  };
});

function toRow(
  p: typeof proposal.$inferSelect,
  now: number,
  quorum: bigint,
  ctx: Awaited<ReturnType<typeof getDecodeContext>>,
): ProposalRow {
  const voteEnd = sec(p.extendedDeadline ?? p.voteEnd)!;
  const state = deriveProposalState(
    {
      voteStart: BigInt(sec(p.voteStart)!),
      voteEnd: BigInt(voteEnd),
      forVotes: BigInt(p.forVotes),
      againstVotes: BigInt(p.againstVotes),
      abstainVotes: BigInt(p.abstainVotes),
      quorum,
      eta: p.eta ? BigInt(sec(p.eta)!) : null,
      queued: Boolean(p.queuedAt),
      executed: Boolean(p.executedAt),
      canceled: Boolean(p.canceledAt),
    },
    BigInt(now),
  );
  // A publish that is still open will create version count+1; an executed one already did.
  const actions = decodeActions(p.targets, p.values, p.calldatas, {
    ...ctx,
    versionCounts: state === ProposalState.Executed ? undefined : ctx.versionCountsNow,
  });
  const models = [...new Set(actions.map((a) => (a.modelId ? ctx.slugs[a.modelId] : null)).filter((s): s is string => Boolean(s)))];
  for (const a of actions) if (a.functionName === 'registerModel' && a.args) models.push(String(a.args[0]));
  return {
    id: String(p.proposalId),
    proposer: p.proposer,
    title: proposalTitle(p.description),
    description: p.description,
    state,
    voteStart: sec(p.voteStart)!,
    voteEnd,
    extended: Boolean(p.extendedDeadline),
    eta: sec(p.eta),
    forVotes: String(p.forVotes),
    againstVotes: String(p.againstVotes),
    abstainVotes: String(p.abstainVotes),
    quorum: quorum.toString(),
    voteCount: p.voteCount,
    createdAt: sec(p.createdAt)!,
    createdTx: p.createdTx,
    queuedAt: sec(p.queuedAt),
    queuedTx: p.queuedTx,
    executedAt: sec(p.executedAt),
    executedTx: p.executedTx,
    canceledAt: sec(p.canceledAt),
    canceledTx: p.canceledTx,
    targets: p.targets,
    values: p.values,
    calldatas: p.calldatas,
    actions,
    models,
  };
}

export interface ProposalFilter {
  state?: ProposalState;
  model?: string;
  q?: string;
  page?: number;
  pageSize?: number;
}

export const getProposals = cache(
  async (
    state: ProposalState | undefined,
    modelSlug: string | undefined,
    q: string | undefined,
    page: number,
    pageSize: number,
  ): Promise<{ rows: ProposalRow[]; total: number; now: number }> => {
    const db = await getDb();
    const chainId = getEnv().CHAIN_ID;
    const [all, { now }, supply, params, ctx] = await Promise.all([
      db.select().from(proposal).where(eq(proposal.chainId, chainId)).orderBy(desc(proposal.createdBlock)),
      getChainNow(),
      getTotalSupply(),
      getGovernanceParams(),
      getDecodeContext(),
    ]);
    const quorum = (supply * BigInt(params.quorumNumerator)) / 100n;
    const needle = q?.trim().toLowerCase();
    let rows = all
      .filter((p) => !needle || p.description.toLowerCase().includes(needle) || String(p.proposalId).includes(needle))
      .map((p) => toRow(p, now, quorum, ctx));
    if (state !== undefined) rows = rows.filter((r) => r.state === state);
    if (modelSlug) rows = rows.filter((r) => r.models.includes(modelSlug));
    const total = rows.length;
    return { rows: rows.slice((page - 1) * pageSize, page * pageSize), total, now };
  },
);

export const getProposal = cache(async (id: string): Promise<ProposalRow | null> => {
  if (!/^\d{1,78}$/.test(id)) return null;
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const [p] = await db.select().from(proposal).where(and(eq(proposal.chainId, chainId), eq(proposal.proposalId, id))).limit(1);
  if (!p) return null;
  const [{ now }, ctx] = await Promise.all([getChainNow(), getDecodeContext()]);
  // Exact quorum at the snapshot, from the governor; the list uses the supply estimate.
  let quorum: bigint;
  const dep = getDeployment();
  try {
    if (!dep) throw new Error('no deployment');
    quorum = await getChainClient().readContract({
      address: dep.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'quorum',
      args: [BigInt(sec(p.voteStart)!)],
    });
  } catch {
    const [supply, params] = await Promise.all([getTotalSupply(), getGovernanceParams()]);
    quorum = (supply * BigInt(params.quorumNumerator)) / 100n;
  }
  return toRow(p, now, quorum, ctx);
});

export interface VoteRow {
  voter: string;
  support: 0 | 1 | 2;
  weight: string;
  reason: string;
  votedAt: number;
  txHash: string;
}

export const getVotes = cache(async (proposalId: string): Promise<VoteRow[]> => {
  if (!/^\d{1,78}$/.test(proposalId)) return [];
  const db = await getDb();
  const rows = await db
    .select()
    .from(vote)
    .where(and(eq(vote.chainId, getEnv().CHAIN_ID), eq(vote.proposalId, proposalId)))
    .orderBy(asc(vote.blockNumber), asc(vote.logIndex));
  return rows.map((v) => ({
    voter: v.voter,
    support: v.support as 0 | 1 | 2,
    weight: String(v.weight),
    reason: v.reason,
    votedAt: sec(v.votedAt)!,
    txHash: v.txHash,
  }));
});

/** Executed proposals by execution transaction: links a registry change to the vote that made it. */
export const getProposalsByExecutionTx = cache(async (txs: string[]): Promise<Record<string, { id: string; title: string }>> => {
  if (txs.length === 0) return {};
  const db = await getDb();
  const rows = await db
    .select({ id: proposal.proposalId, tx: proposal.executedTx, description: proposal.description })
    .from(proposal)
    .where(and(eq(proposal.chainId, getEnv().CHAIN_ID), inArray(proposal.executedTx, txs)));
  return Object.fromEntries(rows.map((r) => [r.tx!, { id: String(r.id), title: proposalTitle(r.description) }]));
});
