// Typed events for consumers, derived from the indexer's append-only *_event tables (never from the
// derived state tables, whose rows change in place). An event's id is its chain position
// `<block>-<logIndex>-<first 8 hex of the block hash>`: any app server reading the same database
// resumes a client from it exactly, and a position whose block hash is no longer canonical is
// recognised as a reorg. A proposal's end of voting (succeeded/defeated: no log marks it) has the
// position the indexer gave it in proposal_deadline_event (lib/indexer/deadlines.ts): the first block
// past its deadline, with a negative log index that sorts before the block's logs.
import { sql } from 'drizzle-orm';
import { decodeFunctionData, type Hex } from 'viem';
import type { Db } from '../../db/client.ts';
import { modelRegistryAbi } from '../contracts/generated.ts';

export const EVENT_TYPES = [
  'proposal.created',
  'proposal.vote',
  'proposal.state',
  'version.published',
  'version.current',
  'version.deprecated',
  'version.revoked',
  'access.changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface StreamEvent {
  /** `<block>-<logIndex>-<hash8>`: the chain position; what Last-Event-ID carries. */
  id: string;
  type: EventType;
  chainId: number;
  blockNumber: number;
  blockHash: string;
  /** unix seconds */
  blockTime: number;
  /** null for positions no transaction made (a proposal's voting period ending). */
  txHash: string | null;
  /** Negative for events derived from time (before every log of their block). */
  logIndex: number;
  /** Model slugs the event concerns (a proposal: the models its registry calls touch). */
  models: string[];
  /** Proposal id (decimal string) for proposal.* events. */
  proposalId?: string;
  data: Record<string, unknown>;
}

/** An event the indexer removed in a reorg, as it was sent. */
export interface Correction {
  type: 'correction';
  reason: 'reorg';
  removed: StreamEvent;
}

export interface Position {
  block: number;
  log: number;
}

export function eventId(blockNumber: number, logIndex: number, blockHash: string): string {
  return `${blockNumber}-${logIndex}-${blockHash.slice(2, 10).toLowerCase()}`;
}

export function parseEventId(id: string): (Position & { hash8: string }) | null {
  const m = /^(\d{1,15})-(-?\d{1,10})-([0-9a-f]{8})$/.exec(id.trim());
  if (!m) return null;
  const log = Number(m[2]);
  if (log < -2_147_483_648 || log > 2_147_483_647) return null;
  return { block: Number(m[1]), log, hash8: m[3]! };
}

/** Raw rows the stream reads (the events that matter to consumers; token/timelock noise excluded). */
const GOVERNOR_EVENTS = ['ProposalCreated', 'VoteCast', 'VoteCastWithParams', 'ProposalQueued', 'ProposalExecuted', 'ProposalCanceled'];
/** proposal_deadline_event's one kind (lib/indexer/deadlines.ts DEADLINE_EVENT). */
const DEADLINE_EVENT = 'ProposalDeadlinePassed';
const REGISTRY_EVENTS = ['ModelRegistered', 'VersionPublished', 'CurrentVersionChanged', 'VersionStatusChanged', 'AccessRuleChanged', 'AllowlistUpdated'];
const ACCESS_KINDS = ['Public', 'TokenHolders', 'Allowlist'];

export interface RawEvent {
  source: 'governor' | 'registry';
  eventName: string;
  args: Record<string, unknown>;
  blockNumber: number;
  blockHash: string;
  blockTime: number;
  txHash: string | null;
  logIndex: number;
}

function inList(names: string[]) {
  return sql.raw(names.map((n) => `'${n}'`).join(','));
}

/** Consumer-relevant raw events with from < position <= (toBlock, ∞), in chain order, at most `limit`. */
export async function readRawEvents(db: Db, chainId: number, from: Position, toBlock: number, limit = 2000): Promise<RawEvent[]> {
  const res = await db.execute(sql`
    SELECT * FROM (
      SELECT 'governor' AS source, event_name, args, block_number::float8 AS block_number, block_hash, extract(epoch from block_time)::float8 AS block_time, tx_hash, log_index
        FROM governor_event WHERE chain_id = ${chainId} AND (block_number, log_index) > (${from.block}, ${from.log}) AND block_number <= ${toBlock} AND event_name IN (${inList(GOVERNOR_EVENTS)})
      UNION ALL
      SELECT 'registry' AS source, event_name, args, block_number::float8, block_hash, extract(epoch from block_time)::float8, tx_hash, log_index
        FROM registry_event WHERE chain_id = ${chainId} AND (block_number, log_index) > (${from.block}, ${from.log}) AND block_number <= ${toBlock} AND event_name IN (${inList(REGISTRY_EVENTS)})
      UNION ALL
      SELECT 'governor', event_name, args, block_number::float8, block_hash, extract(epoch from block_time)::float8, tx_hash, log_index
        FROM proposal_deadline_event WHERE chain_id = ${chainId} AND (block_number, log_index) > (${from.block}, ${from.log}) AND block_number <= ${toBlock}
    ) e ORDER BY block_number, log_index LIMIT ${limit}`);
  type Row = {
    source: RawEvent['source'];
    event_name: string;
    args: string | Record<string, unknown>;
    block_number: number;
    block_hash: string;
    block_time: number;
    tx_hash: string;
    log_index: number;
  };
  return (res.rows as Row[]).map((r) => ({
    source: r.source,
    eventName: r.event_name,
    args: typeof r.args === 'string' ? JSON.parse(r.args) : r.args,
    blockNumber: Number(r.block_number),
    blockHash: r.block_hash,
    blockTime: Number(r.block_time),
    txHash: r.tx_hash === '' ? null : r.tx_hash,
    logIndex: Number(r.log_index),
  }));
}

/** The canonical hash of an indexed block, if the index still knows it (an event row or the recent-block table). */
export async function canonicalBlockHash(db: Db, chainId: number, block: number): Promise<string | null> {
  const res = await db.execute(sql`
    SELECT block_hash FROM indexer_block WHERE chain_id = ${chainId} AND block_number = ${block}
    UNION ALL SELECT block_hash FROM governor_event WHERE chain_id = ${chainId} AND block_number = ${block}
    UNION ALL SELECT block_hash FROM registry_event WHERE chain_id = ${chainId} AND block_number = ${block}
    UNION ALL SELECT block_hash FROM token_event WHERE chain_id = ${chainId} AND block_number = ${block}
    UNION ALL SELECT block_hash FROM timelock_event WHERE chain_id = ${chainId} AND block_number = ${block}
    UNION ALL SELECT block_hash FROM proposal_deadline_event WHERE chain_id = ${chainId} AND block_number = ${block}
    LIMIT 1`);
  const r = res.rows[0] as { block_hash: string } | undefined;
  return r ? r.block_hash : null;
}

/**
 * Turns raw rows into stream events. Looks up what a row does not carry (a model's slug, a proposal's
 * models, a version's manifest digest) from the event tables, and caches it (all of it is immutable
 * once on chain, apart from reorgs, which only remove).
 */
export class Deriver {
  private slugs = new Map<string, string>();
  private proposalModels = new Map<string, string[]>();
  private digests = new Map<string, string>();

  constructor(
    private db: Db,
    readonly chainId: number,
    private registry: string,
  ) {}

  private async slugOf(modelId: string): Promise<string> {
    let s = this.slugs.get(modelId);
    if (s === undefined) {
      const res = await this.db.execute(
        sql`SELECT args->>'modelId' AS id, args->>'slug' AS slug FROM registry_event WHERE chain_id = ${this.chainId} AND event_name = 'ModelRegistered'`,
      );
      for (const r of res.rows as { id: string; slug: string }[]) this.slugs.set(r.id, r.slug);
      s = this.slugs.get(modelId) ?? `#${modelId}`;
    }
    return s;
  }

  private async digestOf(modelId: string, version: number): Promise<string | null> {
    if (version === 0) return null;
    const key = `${modelId}/${version}`;
    let d = this.digests.get(key);
    if (d === undefined) {
      const res = await this.db.execute(
        sql`SELECT args->>'manifestDigest' AS d FROM registry_event WHERE chain_id = ${this.chainId} AND event_name = 'VersionPublished' AND args->>'modelId' = ${modelId} AND (args->>'version')::int = ${version} LIMIT 1`,
      );
      d = (res.rows[0] as { d: string } | undefined)?.d;
      if (!d) return null;
      this.digests.set(key, d);
    }
    return d;
  }

  /** Slugs of the models a proposal's registry calls touch. */
  private async modelsOfProposal(proposalId: string, created?: Record<string, unknown>): Promise<string[]> {
    let m = this.proposalModels.get(proposalId);
    if (m) return m;
    let args = created;
    if (!args) {
      const res = await this.db.execute(
        sql`SELECT args FROM governor_event WHERE chain_id = ${this.chainId} AND event_name = 'ProposalCreated' AND args->>'proposalId' = ${proposalId} LIMIT 1`,
      );
      const r = res.rows[0] as { args: unknown } | undefined;
      if (!r) return [];
      args = (typeof r.args === 'string' ? JSON.parse(r.args) : r.args) as Record<string, unknown>;
    }
    const found = new Set<string>();
    const targets = (args.targets ?? []) as string[];
    const calldatas = (args.calldatas ?? []) as string[];
    for (let i = 0; i < targets.length; i++) {
      if (targets[i]?.toLowerCase() !== this.registry) continue;
      try {
        const call = decodeFunctionData({ abi: modelRegistryAbi, data: calldatas[i] as Hex });
        const a = (call.args ?? []) as readonly unknown[];
        if (call.functionName === 'registerModel') found.add(String(a[0]));
        else if (typeof a[0] === 'bigint') found.add(await this.slugOf(a[0].toString()));
      } catch {
        /* not a registry call we know */
      }
    }
    m = [...found];
    this.proposalModels.set(proposalId, m);
    return m;
  }

  private async tally(proposalId: string, at: Position): Promise<{ for: string; against: string; abstain: string; votes: number }> {
    const res = await this.db.execute(sql`
      SELECT args->>'support' AS support, sum((args->>'weight')::numeric)::text AS w, count(*)::int AS n FROM governor_event
       WHERE chain_id = ${this.chainId} AND event_name IN ('VoteCast','VoteCastWithParams') AND args->>'proposalId' = ${proposalId}
         AND (block_number, log_index) <= (${at.block}, ${at.log})
       GROUP BY 1`);
    const t = { for: '0', against: '0', abstain: '0', votes: 0 };
    for (const r of res.rows as { support: string; w: string; n: number }[]) {
      const key = r.support === '1' ? 'for' : r.support === '0' ? 'against' : 'abstain';
      t[key] = r.w;
      t.votes += Number(r.n);
    }
    return t;
  }

  /**
   * Derives the stream events of rows given in chain order. Votes are throttled: of several votes on
   * one proposal in the same block only the last is sent, with the running tally (and `coalesced`,
   * how many votes it stands for); its id covers the ones before it. Per block, not per read, so a
   * replay sends exactly what the live stream sent (the indexer never splits a block).
   */
  async derive(rows: RawEvent[]): Promise<StreamEvent[]> {
    const lastVote = new Map<string, number>();
    const voteCount = new Map<string, number>();
    rows.forEach((r, i) => {
      if (r.eventName === 'VoteCast' || r.eventName === 'VoteCastWithParams') {
        const p = `${r.args.proposalId}@${r.blockNumber}`;
        lastVote.set(p, i);
        voteCount.set(p, (voteCount.get(p) ?? 0) + 1);
      }
    });
    const out: StreamEvent[] = [];
    for (const [i, r] of rows.entries()) {
      const a = r.args;
      const base = {
        id: eventId(r.blockNumber, r.logIndex, r.blockHash),
        chainId: this.chainId,
        blockNumber: r.blockNumber,
        blockHash: r.blockHash,
        blockTime: r.blockTime,
        txHash: r.txHash,
        logIndex: r.logIndex,
      };
      const at = { block: r.blockNumber, log: r.logIndex };
      switch (r.eventName) {
        case 'ProposalCreated': {
          const proposalId = String(a.proposalId);
          const models = await this.modelsOfProposal(proposalId, a);
          const description = String(a.description ?? '');
          out.push({
            ...base,
            type: 'proposal.created',
            models,
            proposalId,
            data: {
              proposalId,
              proposer: a.proposer,
              title: description
                .split('\n')[0]!
                .replace(/^#+\s*/, '')
                .slice(0, 200),
              voteStart: Number(a.voteStart),
              voteEnd: Number(a.voteEnd),
            },
          });
          break;
        }
        case 'VoteCast':
        case 'VoteCastWithParams': {
          const proposalId = String(a.proposalId);
          if (lastVote.get(`${proposalId}@${r.blockNumber}`) !== i) break;
          const models = await this.modelsOfProposal(proposalId);
          const support = Number(a.support);
          out.push({
            ...base,
            type: 'proposal.vote',
            models,
            proposalId,
            data: {
              proposalId,
              voter: a.voter,
              support: support === 1 ? 'for' : support === 0 ? 'against' : 'abstain',
              weight: String(a.weight),
              reason: String(a.reason ?? '').slice(0, 1000),
              coalesced: voteCount.get(`${proposalId}@${r.blockNumber}`),
              tally: await this.tally(proposalId, at),
            },
          });
          break;
        }
        case 'ProposalQueued':
        case 'ProposalExecuted':
        case 'ProposalCanceled': {
          const proposalId = String(a.proposalId);
          const state = r.eventName === 'ProposalQueued' ? 'queued' : r.eventName === 'ProposalExecuted' ? 'executed' : 'canceled';
          out.push({
            ...base,
            type: 'proposal.state',
            models: await this.modelsOfProposal(proposalId),
            proposalId,
            data: { proposalId, state, ...(state === 'queued' ? { eta: Number(a.etaSeconds) } : {}) },
          });
          break;
        }
        case DEADLINE_EVENT: {
          // the voting period ended (no transaction): succeeded or defeated by the final tally and quorum(snapshot)
          const proposalId = String(a.proposalId);
          out.push({
            ...base,
            type: 'proposal.state',
            models: await this.modelsOfProposal(proposalId),
            proposalId,
            data: {
              proposalId,
              state: a.state,
              deadline: Number(a.deadline),
              tally: { for: String(a.forVotes), against: String(a.againstVotes), abstain: String(a.abstainVotes) },
              quorum: String(a.quorum),
              quorumReached: Boolean(a.quorumReached),
            },
          });
          break;
        }
        case 'ModelRegistered':
          this.slugs.set(String(a.modelId), String(a.slug));
          break;
        case 'VersionPublished': {
          const modelId = String(a.modelId);
          const slug = await this.slugOf(modelId);
          this.digests.set(`${modelId}/${Number(a.version)}`, String(a.manifestDigest));
          out.push({
            ...base,
            type: 'version.published',
            models: [slug],
            data: { slug, modelId, version: Number(a.version), manifestDigest: a.manifestDigest, parentVersion: Number(a.parentVersion) },
          });
          break;
        }
        case 'CurrentVersionChanged': {
          const modelId = String(a.modelId);
          const slug = await this.slugOf(modelId);
          const version = Number(a.newVersion);
          out.push({
            ...base,
            type: 'version.current',
            models: [slug],
            data: { slug, modelId, previousVersion: Number(a.previousVersion), version, manifestDigest: await this.digestOf(modelId, version) },
          });
          break;
        }
        case 'VersionStatusChanged': {
          const status = Number(a.newStatus);
          if (status === 0) break;
          const modelId = String(a.modelId);
          const slug = await this.slugOf(modelId);
          const version = Number(a.version);
          out.push({
            ...base,
            type: status === 2 ? 'version.revoked' : 'version.deprecated',
            models: [slug],
            data: { slug, modelId, version, manifestDigest: await this.digestOf(modelId, version), by: a.by },
          });
          break;
        }
        case 'AccessRuleChanged': {
          const modelId = String(a.modelId);
          const slug = await this.slugOf(modelId);
          const rule = (a.newRule ?? {}) as { kind?: unknown; token?: unknown; minBalance?: unknown };
          out.push({
            ...base,
            type: 'access.changed',
            models: [slug],
            data: {
              slug,
              modelId,
              change: 'rule',
              accessKind: ACCESS_KINDS[Number(rule.kind)] ?? String(rule.kind),
              token: rule.token,
              minBalance: String(rule.minBalance),
            },
          });
          break;
        }
        case 'AllowlistUpdated': {
          const modelId = String(a.modelId);
          const slug = await this.slugOf(modelId);
          out.push({
            ...base,
            type: 'access.changed',
            models: [slug],
            data: { slug, modelId, change: 'allowlist', account: a.account, allowed: Boolean(a.allowed) },
          });
          break;
        }
      }
    }
    return out;
  }

  /** A reorg may have removed a proposal or model: forget cached look-ups (they are re-read). */
  forget(): void {
    this.proposalModels.clear();
    this.digests.clear();
  }
}

export interface EventFilter {
  models?: Set<string>;
  types?: Set<string>;
  proposalId?: string;
}

export function matches(f: EventFilter, e: StreamEvent): boolean {
  if (f.types && !f.types.has(e.type)) return false;
  if (f.models && !e.models.some((m) => f.models!.has(m))) return false;
  if (f.proposalId !== undefined && e.proposalId !== f.proposalId) return false;
  return true;
}
