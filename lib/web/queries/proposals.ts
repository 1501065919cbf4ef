import 'server-only';
import { cache } from 'react';
import { and, asc, desc, eq, ilike, inArray, or, sql } from 'drizzle-orm';
import { governorSettings, model, proposal, vote } from '@/db/schema';
import { modelGovernorAbi, modelTokenAbi } from '@/lib/contracts/generated';
import { deriveProposalState, ProposalState } from '@/lib/chain/proposal-state';
import { getEnv } from '@/lib/web/server-env';
import { decodeActions, proposalTitle, type DecodedAction, type ManifestBrief } from '@/lib/web/actions';
import { getDb } from './db';
import { getChainClient, getChainNow, getDeployment } from './chain';
import { getTokenSymbol } from './token';
import { getQuorumAt } from './quorum';

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

/** Token supply now, read once per request (the delegates page's share of supply). */
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
    ? {
        token: dep.contracts.ModelToken,
        governor: dep.contracts.ModelGovernor,
        timelock: dep.contracts.TimelockController,
        registry: dep.contracts.ModelRegistry,
      }
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

function toRow(p: typeof proposal.$inferSelect, now: number, quorum: bigint, ctx: Awaited<ReturnType<typeof getDecodeContext>>): ProposalRow {
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

/**
 * One page of the proposal list. States are derived for every proposal from a narrow read (times,
 * tallies, lifecycle stamps); the wide columns (description, calldatas…) are read only for the rows
 * on the page — or, when filtering by model, the targets/calldatas of the candidates.
 */
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
    const needle = q?.trim();
    const where = needle
      ? and(
          eq(proposal.chainId, chainId),
          /^\d+$/.test(needle)
            ? or(ilike(proposal.description, `%${escapeLike(needle)}%`), sql`${proposal.proposalId}::text like ${`%${needle}%`}`)
            : ilike(proposal.description, `%${escapeLike(needle)}%`),
        )
      : eq(proposal.chainId, chainId);
    const params = await getGovernanceParams();
    const [light, { now }, quorumAt, ctx] = await Promise.all([
      db
        .select({
          id: proposal.proposalId,
          voteStart: proposal.voteStart,
          voteEnd: proposal.voteEnd,
          extendedDeadline: proposal.extendedDeadline,
          forVotes: proposal.forVotes,
          againstVotes: proposal.againstVotes,
          abstainVotes: proposal.abstainVotes,
          eta: proposal.eta,
          queuedAt: proposal.queuedAt,
          executedAt: proposal.executedAt,
          canceledAt: proposal.canceledAt,
        })
        .from(proposal)
        .where(where)
        .orderBy(desc(proposal.createdBlock), desc(proposal.proposalId)),
      getChainNow(),
      getQuorumAt(params.quorumNumerator),
      getDecodeContext(),
    ]);
    let ids = light
      .filter(
        (p) =>
          state === undefined ||
          deriveProposalState(
            {
              voteStart: BigInt(sec(p.voteStart)!),
              voteEnd: BigInt(sec(p.extendedDeadline ?? p.voteEnd)!),
              forVotes: BigInt(p.forVotes),
              againstVotes: BigInt(p.againstVotes),
              abstainVotes: BigInt(p.abstainVotes),
              quorum: quorumAt(BigInt(sec(p.voteStart)!)),
              eta: p.eta ? BigInt(sec(p.eta)!) : null,
              queued: Boolean(p.queuedAt),
              executed: Boolean(p.executedAt),
              canceled: Boolean(p.canceledAt),
            },
            BigInt(now),
          ) === state,
      )
      .map((p) => String(p.id));
    if (modelSlug && ids.length) {
      const calls = await db
        .select({ id: proposal.proposalId, targets: proposal.targets, values: proposal.values, calldatas: proposal.calldatas })
        .from(proposal)
        .where(and(eq(proposal.chainId, chainId), inArray(proposal.proposalId, ids)));
      const touches = new Set(
        calls
          .filter((c) =>
            decodeActions(c.targets, c.values, c.calldatas, ctx).some(
              (a) => (a.modelId && ctx.slugs[a.modelId] === modelSlug) || (a.functionName === 'registerModel' && a.args?.[0] === modelSlug),
            ),
          )
          .map((c) => String(c.id)),
      );
      ids = ids.filter((id) => touches.has(id));
    }
    const total = ids.length;
    const pageIds = ids.slice((page - 1) * pageSize, page * pageSize);
    if (pageIds.length === 0) return { rows: [], total, now };
    const full = await db
      .select()
      .from(proposal)
      .where(and(eq(proposal.chainId, chainId), inArray(proposal.proposalId, pageIds)));
    const byId = new Map(full.map((p) => [String(p.proposalId), p]));
    const rows = pageIds
      .map((id) => byId.get(id))
      .filter((p): p is NonNullable<typeof p> => Boolean(p))
      .map((p) => toRow(p, now, quorumAt(BigInt(sec(p.voteStart)!)), ctx));
    return { rows, total, now };
  },
);

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export const getProposal = cache(async (id: string): Promise<ProposalRow | null> => {
  if (!/^\d{1,78}$/.test(id)) return null;
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const [p] = await db
    .select()
    .from(proposal)
    .where(and(eq(proposal.chainId, chainId), eq(proposal.proposalId, id)))
    .limit(1);
  if (!p) return null;
  const [{ now }, ctx] = await Promise.all([getChainNow(), getDecodeContext()]);
  // Exact quorum at the snapshot, from the governor; the same figure from the index if it does not answer.
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
    const params = await getGovernanceParams();
    quorum = (await getQuorumAt(params.quorumNumerator))(BigInt(sec(p.voteStart)!));
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
