import { keccak256, toBytes, type Abi, type ContractEventName, type GetEventArgs } from 'viem';
import { sql } from 'drizzle-orm';
import { accessKindName, versionStatusName } from '../chain/registry-enums.ts';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi, timelockControllerAbi } from '../contracts/generated.ts';
import type { ContractKind } from './abi.ts';
import { T, keyOf, selectAllSql, selectByKeys, upsertRows, type Exec, type Row, type TableSpec } from './tables.ts';

// Derived state from events. One code path for live indexing and for the replay after a reorg:
// load the rows a batch of events touches (one query per table), apply the events in chain order in
// memory, write the touched rows back (one upsert per table).
//
// Each event the index derives state from has ONE handler below (`handlers`): `keys` names the rows
// it reads or writes (phase 1, so the whole batch loads with one query per table) and `apply` changes
// them (phase 3). Arguments are typed from the generated ABIs, so a misspelt event or argument fails
// tsc. Adding an event is one entry in its contract's map.

/** A decoded log; args are JSON (uint256 as decimal strings, addresses lowercase). */
export interface IndexedEvent {
  kind: ContractKind;
  eventName: string;
  args: Record<string, any>;
  blockNumber: number;
  blockHash: string;
  /** unix seconds */
  blockTime: number;
  txHash: string;
  logIndex: number;
  address: string;
}

/** viem's decoded type as the indexer stores it: big integers as decimal strings (source.ts normalize, fast-decode.ts). */
type Json<V> = V extends bigint ? string : V extends readonly (infer U)[] ? Json<U>[] : V extends object ? { [K in keyof V]: Json<V[K]> } : V;
/** The stored arguments of event `N` of contract `A`. */
export type EventArgs<A extends Abi, N extends ContractEventName<A>> = Json<GetEventArgs<A, N, { EnableUnion: false; IndexedOnly: false; Required: true }>>;
export type TypedEvent<Args> = Omit<IndexedEvent, 'args'> & { args: Args };

export interface EventHandler<Args> {
  /** Names the rows the event will read or write (batch.c.<table>.want), so the batch loads them in one query per table. */
  keys?(e: TypedEvent<Args>, batch: Batch): void;
  /** Applies the event, in chain order, to the loaded rows. */
  apply(e: TypedEvent<Args>, batch: Batch): void;
}
type Handlers<A extends Abi> = { [N in ContractEventName<A>]?: EventHandler<EventArgs<A, N>> };

const ZERO = '0x0000000000000000000000000000000000000000';

/** What a batch changed, for onAdvance listeners (cache invalidation, pinning). */
export interface BatchSummary {
  events: number;
  proposals: string[];
  models: string[];
  /** VersionPublished / VersionStatusChanged seen: pinning must re-sync. */
  versionsChanged: boolean;
  delegatesChanged: boolean;
}

class Cache {
  rows = new Map<string, Row | null>();
  dirty = new Set<string>();
  /** key → primary key values after chain_id of a row to load (undefined: the key itself is the one value) */
  wanted = new Map<string, unknown[] | undefined>();
  /** load every row of the chain (tables keyed by chain_id alone) */
  wantAll = false;
  constructor(readonly spec: TableSpec) {}
  want(key: string, pk?: unknown[]) {
    this.wanted.set(key, pk);
  }
  get(key: string): Row | undefined {
    return this.rows.get(key) ?? undefined;
  }
  put(row: Row) {
    const k = keyOf(this.spec, row);
    this.rows.set(k, row);
    this.dirty.add(k);
  }
  touch(key: string) {
    this.dirty.add(key);
  }
  dirtyRows(): Row[] {
    return [...this.dirty].map((k) => this.rows.get(k)).filter((r): r is Row => !!r);
  }
  async load(db: Exec, chainId: number) {
    const rows = this.wantAll
      ? ((await db.execute(selectAllSql(this.spec, chainId))).rows as Row[])
      : await selectByKeys(
          db,
          this.spec,
          chainId,
          Array.from(this.wanted, ([k, pk]) => pk ?? [k]),
        );
    for (const r of rows) this.rows.set(keyOf(this.spec, r), r);
  }
}

/** One batch's working set: the loaded rows, what changed, and row helpers for the handlers. */
export class Batch {
  readonly c = {
    proposal: new Cache(T.proposal),
    delegate: new Cache(T.delegate),
    delegation: new Cache(T.delegation),
    balance: new Cache(T.balance),
    model: new Cache(T.model),
    version: new Cache(T.modelVersion),
    allowlist: new Cache(T.allowlist),
    settings: new Cache(T.settings),
  };
  /** Votes are only inserted (one per voter and proposal). */
  readonly votes: Row[] = [];
  /** Timelock operations executed in this batch (CallExecuted ids), to find their proposals. */
  readonly timelockOps = new Set<string>();
  /** timelock operation id → proposal id (loaded for timelockOps; ProposalQueued adds). */
  readonly opToProposal = new Map<string, string>();
  /** tx hash → the operation CallScheduled scheduled in it (the governor's queue() schedules, then emits ProposalQueued). */
  readonly scheduledInTx = new Map<string, string>();
  readonly proposals = new Set<string>();
  readonly models = new Set<string>();
  constructor(
    readonly chainId: number,
    readonly summary: BatchSummary,
  ) {}

  wantVersion(modelId: string, version: number) {
    if (version > 0) this.c.version.want(`${modelId}|${version}`, [modelId, version]);
  }
  delegate(address: string, e: IndexedEvent): Row {
    let d = this.c.delegate.get(address);
    if (!d) {
      d = { chain_id: this.chainId, address, voting_power: '0', delegator_count: 0, votes_cast: 0, updated_at_block: e.blockNumber };
      this.c.delegate.put(d);
    }
    d.updated_at_block = e.blockNumber;
    this.c.delegate.touch(address);
    return d;
  }
  proposal(id: string): Row | undefined {
    const p = this.c.proposal.get(id);
    if (p) {
      this.c.proposal.touch(id);
      this.proposals.add(id);
    }
    return p;
  }
  version(modelId: string, version: number): Row | undefined {
    const k = `${modelId}|${version}`;
    const v = this.c.version.get(k);
    if (v) this.c.version.touch(k);
    return v;
  }
  model(modelId: string, e: IndexedEvent): Row | undefined {
    const m = this.c.model.get(modelId);
    if (m) {
      m.updated_at_block = e.blockNumber;
      this.c.model.touch(modelId);
      this.models.add(modelId);
    }
    return m;
  }
  settings(e: IndexedEvent): Row {
    let s = this.c.settings.get('');
    if (!s) {
      s = Object.fromEntries(Object.keys(T.settings.cols).map((c) => [c, null]));
      Object.assign(s, { chain_id: this.chainId });
      this.c.settings.put(s);
    }
    s.updated_at_block = e.blockNumber;
    this.c.settings.touch('');
    return s;
  }
}

// ---- handlers, one per event ----

/** Events that only change the proposal row, found by proposalId. */
const onProposal = <A extends { proposalId: string }>(apply: (p: Row, e: TypedEvent<A>) => void): EventHandler<A> => ({
  keys: (e, b) => b.c.proposal.want(e.args.proposalId),
  apply: (e, b) => {
    const p = b.proposal(e.args.proposalId);
    if (p) apply(p, e);
  },
});
/** Governor and timelock parameter changes (governor_settings, one row per chain). */
const onSetting = <A extends Record<string, any>>(apply: (s: Row, a: A) => void): EventHandler<A> => ({
  keys: (_e, b) => void (b.c.settings.wantAll = true),
  apply: (e, b) => apply(b.settings(e), e.args),
});
const vote: EventHandler<EventArgs<typeof modelGovernorAbi, 'VoteCast'> & { params?: string }> = {
  keys: (e, b) => {
    b.c.proposal.want(e.args.proposalId);
    b.c.delegate.want(e.args.voter);
  },
  apply: (e, b) => {
    const a = e.args;
    const p = b.proposal(a.proposalId);
    const support = Number(a.support);
    if (p) {
      const col = support === 0 ? 'against_votes' : support === 1 ? 'for_votes' : 'abstain_votes';
      p[col] = (BigInt(p[col]) + BigInt(a.weight)).toString();
      p.vote_count += 1;
    }
    b.delegate(a.voter, e).votes_cast += 1;
    b.votes.push({
      chain_id: b.chainId,
      proposal_id: a.proposalId,
      voter: a.voter,
      support,
      weight: a.weight,
      reason: a.reason,
      params: e.eventName === 'VoteCastWithParams' ? a.params : null,
      block_number: e.blockNumber,
      voted_at: e.blockTime,
      tx_hash: e.txHash,
      log_index: e.logIndex,
    });
  },
};
const accessRuleCols = (rule: { kind: number; token: string; minBalance: string }) => ({
  access_kind: accessKindName(rule.kind),
  access_token: rule.token,
  access_min_balance: rule.minBalance,
});

const governor: Handlers<typeof modelGovernorAbi> = {
  ProposalCreated: {
    keys: (e, b) => b.c.proposal.want(e.args.proposalId),
    apply: (e, b) => {
      const a = e.args;
      b.c.proposal.put({
        chain_id: b.chainId,
        proposal_id: a.proposalId,
        proposer: a.proposer,
        targets: a.targets,
        values: a.values,
        calldatas: a.calldatas,
        signatures: a.signatures,
        description: a.description,
        description_hash: keccak256(toBytes(a.description)),
        vote_start: Number(a.voteStart),
        vote_end: Number(a.voteEnd),
        extended_deadline: null,
        for_votes: '0',
        against_votes: '0',
        abstain_votes: '0',
        vote_count: 0,
        created_block: e.blockNumber,
        created_at: e.blockTime,
        created_tx: e.txHash,
        eta: null,
        queued_block: null,
        queued_at: null,
        queued_tx: null,
        executed_block: null,
        executed_at: null,
        executed_tx: null,
        canceled_block: null,
        canceled_at: null,
        canceled_tx: null,
        timelock_id: null,
      });
      b.proposals.add(a.proposalId);
    },
  },
  VoteCast: vote,
  VoteCastWithParams: vote,
  ProposalQueued: {
    keys: (e, b) => b.c.proposal.want(e.args.proposalId),
    apply: (e, b) => {
      const p = b.proposal(e.args.proposalId);
      // the governor's queue() scheduled the operation in this same transaction, just before
      const timelockId = b.scheduledInTx.get(e.txHash) ?? null;
      if (p)
        Object.assign(p, { eta: Number(e.args.etaSeconds), queued_block: e.blockNumber, queued_at: e.blockTime, queued_tx: e.txHash, timelock_id: timelockId });
      if (timelockId) b.opToProposal.set(timelockId, e.args.proposalId);
    },
  },
  ProposalExecuted: onProposal((p, e) => Object.assign(p, { executed_block: e.blockNumber, executed_at: e.blockTime, executed_tx: e.txHash })),
  ProposalCanceled: onProposal((p, e) => Object.assign(p, { canceled_block: e.blockNumber, canceled_at: e.blockTime, canceled_tx: e.txHash })),
  ProposalExtended: onProposal<EventArgs<typeof modelGovernorAbi, 'ProposalExtended'>>((p, e) => void (p.extended_deadline = Number(e.args.extendedDeadline))),
  VotingDelaySet: onSetting((s, a) => void (s.voting_delay = Number(a.newVotingDelay))),
  VotingPeriodSet: onSetting((s, a) => void (s.voting_period = Number(a.newVotingPeriod))),
  ProposalThresholdSet: onSetting((s, a) => void (s.proposal_threshold = a.newProposalThreshold)),
  QuorumNumeratorUpdated: onSetting((s, a) => void (s.quorum_numerator = a.newQuorumNumerator)),
  TimelockChange: onSetting((s, a) => void (s.timelock = a.newTimelock)),
  LateQuorumVoteExtensionSet: onSetting((s, a) => void (s.late_quorum_vote_extension = Number(a.newVoteExtension))),
  ProposalGuardianSet: onSetting((s, a) => void (s.proposal_guardian = a.newProposalGuardian)),
};

const timelock: Handlers<typeof timelockControllerAbi> = {
  CallScheduled: { apply: (e, b) => void b.scheduledInTx.set(e.txHash, e.args.id) },
  CallExecuted: {
    keys: (e, b) => void b.timelockOps.add(e.args.id),
    apply: (e, b) => {
      // executed through the governor (ProposalExecuted follows in the same tx) or on the timelock directly
      const id = b.opToProposal.get(e.args.id);
      const p = id ? b.proposal(id) : undefined;
      if (p && p.executed_block == null) Object.assign(p, { executed_block: e.blockNumber, executed_at: e.blockTime, executed_tx: e.txHash });
    },
  },
  MinDelayChange: onSetting((s, a) => void (s.timelock_min_delay = Number(a.newDuration))),
};

const token: Handlers<typeof modelTokenAbi> = {
  Transfer: {
    keys: ({ args: a }, b) => {
      if (a.from !== ZERO) b.c.balance.want(a.from);
      if (a.to !== ZERO) b.c.balance.want(a.to);
    },
    apply: (e, b) => {
      const a = e.args;
      for (const [addr, sign] of [
        [a.from, -1n],
        [a.to, 1n],
      ] as const) {
        if (addr === ZERO) continue;
        let row = b.c.balance.get(addr);
        if (!row) {
          row = { chain_id: b.chainId, address: addr, balance: '0', updated_at_block: e.blockNumber };
          b.c.balance.put(row);
        }
        row.balance = (BigInt(row.balance) + sign * BigInt(a.value)).toString();
        row.updated_at_block = e.blockNumber;
        b.c.balance.touch(addr);
      }
    },
  },
  DelegateChanged: {
    keys: ({ args: a }, b) => {
      b.c.delegation.want(a.delegator);
      if (a.fromDelegate !== ZERO) b.c.delegate.want(a.fromDelegate);
      if (a.toDelegate !== ZERO) b.c.delegate.want(a.toDelegate);
    },
    apply: (e, b) => {
      const a = e.args;
      b.c.delegation.put({ chain_id: b.chainId, delegator: a.delegator, delegatee: a.toDelegate, updated_at_block: e.blockNumber });
      if (a.fromDelegate !== ZERO) b.delegate(a.fromDelegate, e).delegator_count -= 1;
      if (a.toDelegate !== ZERO) b.delegate(a.toDelegate, e).delegator_count += 1;
      b.summary.delegatesChanged = true;
    },
  },
  DelegateVotesChanged: {
    keys: (e, b) => b.c.delegate.want(e.args.delegate),
    apply: (e, b) => {
      b.delegate(e.args.delegate, e).voting_power = e.args.newVotes;
      b.summary.delegatesChanged = true;
    },
  },
};

const registry: Handlers<typeof modelRegistryAbi> = {
  ModelRegistered: {
    keys: (e, b) => b.c.model.want(e.args.modelId),
    apply: (e, b) => {
      const a = e.args;
      b.c.model.put({
        chain_id: b.chainId,
        model_id: a.modelId,
        slug: a.slug,
        ...accessRuleCols(a.accessRule),
        current_version: 0,
        version_count: 0,
        registered_at_block: e.blockNumber,
        registered_at: e.blockTime,
        registered_tx: e.txHash,
        updated_at_block: e.blockNumber,
      });
      b.models.add(a.modelId);
    },
  },
  AccessRuleChanged: {
    keys: (e, b) => b.c.model.want(e.args.modelId),
    apply: (e, b) => {
      const m = b.model(e.args.modelId, e);
      if (m) Object.assign(m, accessRuleCols(e.args.newRule));
    },
  },
  VersionPublished: {
    keys: (e, b) => {
      b.c.model.want(e.args.modelId);
      b.wantVersion(e.args.modelId, Number(e.args.version));
    },
    apply: (e, b) => {
      const a = e.args;
      const version = Number(a.version);
      const m = b.model(a.modelId, e);
      if (m) m.version_count = Math.max(m.version_count, version);
      b.c.version.put({
        chain_id: b.chainId,
        model_id: a.modelId,
        version,
        manifest_digest: a.manifestDigest,
        parent_version: Number(a.parentVersion),
        published_at: Number(a.publishedAt),
        published_block: e.blockNumber,
        published_tx: e.txHash,
        status: 'Active',
        status_changed_block: null,
        status_changed_at: null,
        status_changed_tx: null,
        status_changed_by: null,
        current_from_block: null,
        current_from: null,
        current_to_block: null,
        current_to: null,
        current_from_tx: null,
        current_to_tx: null,
      });
      b.summary.versionsChanged = true;
    },
  },
  CurrentVersionChanged: {
    keys: ({ args: a }, b) => {
      b.c.model.want(a.modelId);
      b.wantVersion(a.modelId, Number(a.previousVersion));
      b.wantVersion(a.modelId, Number(a.newVersion));
    },
    apply: (e, b) => {
      const a = e.args;
      const m = b.model(a.modelId, e);
      const prev = Number(a.previousVersion);
      const next = Number(a.newVersion);
      if (m) m.current_version = next;
      if (prev > 0 && prev !== next) {
        const v = b.version(a.modelId, prev);
        if (v) Object.assign(v, { current_to_block: e.blockNumber, current_to: e.blockTime, current_to_tx: e.txHash });
      }
      if (next > 0) {
        const v = b.version(a.modelId, next);
        if (v && prev !== next)
          Object.assign(v, {
            current_from_block: e.blockNumber,
            current_from: e.blockTime,
            current_from_tx: e.txHash,
            current_to_block: null,
            current_to: null,
            current_to_tx: null,
          });
      }
      b.summary.versionsChanged = true;
      b.models.add(a.modelId);
    },
  },
  VersionStatusChanged: {
    keys: (e, b) => b.wantVersion(e.args.modelId, Number(e.args.version)),
    apply: (e, b) => {
      const a = e.args;
      const v = b.version(a.modelId, Number(a.version));
      if (v)
        Object.assign(v, {
          status: versionStatusName(a.newStatus),
          status_changed_block: e.blockNumber,
          status_changed_at: e.blockTime,
          status_changed_tx: e.txHash,
          status_changed_by: a.by,
        });
      b.summary.versionsChanged = true;
      b.models.add(a.modelId);
    },
  },
  AllowlistUpdated: {
    keys: ({ args: a }, b) => b.c.allowlist.want(`${a.modelId}|${a.account}`, [a.modelId, a.account]),
    apply: (e, b) => {
      const a = e.args;
      b.c.allowlist.put({ chain_id: b.chainId, model_id: a.modelId, account: a.account, allowed: a.allowed, updated_at_block: e.blockNumber });
      b.models.add(a.modelId);
    },
  },
};

/** contract kind → event name → handler. Events without a handler are stored but derive nothing. */
export const handlers: Record<ContractKind, Record<string, EventHandler<any> | undefined>> = { governor, timelock, token, registry, erc20: {} };

export async function applyEvents(db: Exec, chainId: number, events: IndexedEvent[]): Promise<BatchSummary> {
  const summary: BatchSummary = { events: events.length, proposals: [], models: [], versionsChanged: false, delegatesChanged: false };
  if (events.length === 0) return summary;
  const b = new Batch(chainId, summary);

  // 1. keys this batch touches
  for (const e of events) handlers[e.kind][e.eventName]?.keys?.(e, b);
  // A queued proposal can be executed on the timelock itself (anyone may): find it by operation id.
  if (b.timelockOps.size > 0) {
    const res = await db.execute(
      sql`select proposal_id::text as proposal_id, timelock_id from proposal where chain_id = ${chainId} and timelock_id in (select jsonb_array_elements_text(${JSON.stringify([...b.timelockOps])}::jsonb))`,
    );
    for (const r of res.rows as { proposal_id: string; timelock_id: string }[]) {
      b.opToProposal.set(r.timelock_id, r.proposal_id);
      b.c.proposal.want(r.proposal_id);
    }
  }

  // 2. load them, one query per table
  for (const cache of Object.values(b.c)) await cache.load(db, chainId);

  // 3. apply in chain order
  for (const e of events) handlers[e.kind][e.eventName]?.apply(e, b);

  // 4. write back (parents before children is irrelevant: no foreign keys, one transaction)
  for (const cache of Object.values(b.c)) await upsertRows(db, cache.spec, cache.dirtyRows());
  await upsertRows(db, T.vote, b.votes, 'nothing');
  summary.proposals = [...b.proposals];
  summary.models = [...b.models];
  return summary;
}
