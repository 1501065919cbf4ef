import { keccak256, toBytes } from 'viem';
import { sql } from 'drizzle-orm';
import type { ContractKind } from './abi.ts';
import { T, keyOf, selectAllSql, selectByKeys, upsertRows, type Exec, type Row, type TableSpec } from './tables.ts';

// Derived state from events. One code path for live indexing and for the replay after a reorg:
// load the rows a batch of events touches (one query per table), apply the events in chain order in
// memory, write the touched rows back (one upsert per table).

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

const ZERO = '0x0000000000000000000000000000000000000000';
const ACCESS_KINDS = ['Public', 'TokenHolders', 'Allowlist'];
const VERSION_STATUS = ['Active', 'Deprecated', 'Revoked'];

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
  constructor(readonly spec: TableSpec) {}
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
}

export async function applyEvents(db: Exec, chainId: number, events: IndexedEvent[]): Promise<BatchSummary> {
  const summary: BatchSummary = { events: events.length, proposals: [], models: [], versionsChanged: false, delegatesChanged: false };
  if (events.length === 0) return summary;

  // 1. keys this batch touches
  const need = {
    proposal: new Set<string>(),
    delegate: new Set<string>(),
    delegation: new Set<string>(),
    balance: new Set<string>(),
    model: new Set<string>(),
    version: new Map<string, [string, number]>(),
    allowlist: new Map<string, [string, string]>(),
    settings: false,
    /** timelock operations executed in this batch (CallExecuted ids) */
    timelockOps: new Set<string>(),
  };
  const addVersion = (m: string, v: number) => v > 0 && need.version.set(`${m}|${v}`, [m, v]);
  for (const e of events) {
    const a = e.args;
    switch (e.eventName) {
      case 'ProposalCreated':
      case 'ProposalQueued':
      case 'ProposalExecuted':
      case 'ProposalCanceled':
      case 'ProposalExtended':
        need.proposal.add(a.proposalId);
        break;
      case 'VoteCast':
      case 'VoteCastWithParams':
        need.proposal.add(a.proposalId);
        need.delegate.add(a.voter);
        break;
      case 'DelegateChanged':
        need.delegation.add(a.delegator);
        if (a.fromDelegate !== ZERO) need.delegate.add(a.fromDelegate);
        if (a.toDelegate !== ZERO) need.delegate.add(a.toDelegate);
        break;
      case 'DelegateVotesChanged':
        need.delegate.add(a.delegate);
        break;
      case 'Transfer':
        if (a.from !== ZERO) need.balance.add(a.from);
        if (a.to !== ZERO) need.balance.add(a.to);
        break;
      case 'ModelRegistered':
      case 'AccessRuleChanged':
        need.model.add(a.modelId);
        break;
      case 'VersionPublished':
        need.model.add(a.modelId);
        addVersion(a.modelId, Number(a.version));
        break;
      case 'CurrentVersionChanged':
        need.model.add(a.modelId);
        addVersion(a.modelId, Number(a.previousVersion));
        addVersion(a.modelId, Number(a.newVersion));
        break;
      case 'VersionStatusChanged':
        addVersion(a.modelId, Number(a.version));
        break;
      case 'AllowlistUpdated':
        need.allowlist.set(`${a.modelId}|${a.account}`, [a.modelId, a.account]);
        break;
      case 'VotingDelaySet':
      case 'VotingPeriodSet':
      case 'ProposalThresholdSet':
      case 'QuorumNumeratorUpdated':
      case 'TimelockChange':
      case 'LateQuorumVoteExtensionSet':
      case 'ProposalGuardianSet':
      case 'MinDelayChange':
        need.settings = true;
        break;
      case 'CallExecuted':
        need.timelockOps.add(a.id);
        break;
    }
  }
  // A queued proposal can be executed on the timelock itself (anyone may): find it by operation id.
  const opToProposal = new Map<string, string>();
  if (need.timelockOps.size > 0) {
    const res = await db.execute(
      sql`select proposal_id::text as proposal_id, timelock_id from proposal where chain_id = ${chainId} and timelock_id in (select jsonb_array_elements_text(${JSON.stringify([...need.timelockOps])}::jsonb))`,
    );
    for (const r of res.rows as { proposal_id: string; timelock_id: string }[]) {
      opToProposal.set(r.timelock_id, r.proposal_id);
      need.proposal.add(r.proposal_id);
    }
  }

  // 2. load them
  const c = {
    proposal: new Cache(T.proposal),
    delegate: new Cache(T.delegate),
    delegation: new Cache(T.delegation),
    balance: new Cache(T.balance),
    model: new Cache(T.model),
    version: new Cache(T.modelVersion),
    allowlist: new Cache(T.allowlist),
    settings: new Cache(T.settings),
  };
  const load = async (cache: Cache, keys: unknown[][]) => {
    for (const r of await selectByKeys(db, cache.spec, chainId, keys)) cache.rows.set(keyOf(cache.spec, r), r);
  };
  await load(c.proposal, [...need.proposal].map((k) => [k]));
  await load(c.delegate, [...need.delegate].map((k) => [k]));
  await load(c.delegation, [...need.delegation].map((k) => [k]));
  await load(c.balance, [...need.balance].map((k) => [k]));
  await load(c.model, [...need.model].map((k) => [k]));
  await load(c.version, [...need.version.values()]);
  await load(c.allowlist, [...need.allowlist.values()]);
  if (need.settings) {
    for (const r of (await db.execute(selectAllSql(T.settings, chainId))).rows as Row[]) c.settings.rows.set(keyOf(T.settings, r), r);
  }

  // 3. apply in chain order
  const votes: Row[] = [];
  const scheduledInTx = new Map<string, string>();
  const proposals = new Set<string>();
  const models = new Set<string>();
  const delegateRow = (address: string, e: IndexedEvent): Row => {
    let d = c.delegate.get(address);
    if (!d) {
      d = { chain_id: chainId, address, voting_power: '0', delegator_count: 0, votes_cast: 0, updated_at_block: e.blockNumber };
      c.delegate.put(d);
    }
    d.updated_at_block = e.blockNumber;
    c.delegate.touch(address);
    return d;
  };
  const proposalRow = (id: string): Row | undefined => {
    const p = c.proposal.get(id);
    if (p) {
      c.proposal.touch(id);
      proposals.add(id);
    }
    return p;
  };
  const versionRow = (modelId: string, version: number): Row | undefined => {
    const k = `${modelId}|${version}`;
    const v = c.version.get(k);
    if (v) c.version.touch(k);
    return v;
  };
  const modelRow = (modelId: string, e: IndexedEvent): Row | undefined => {
    const m = c.model.get(modelId);
    if (m) {
      m.updated_at_block = e.blockNumber;
      c.model.touch(modelId);
      models.add(modelId);
    }
    return m;
  };
  const settingsRow = (e: IndexedEvent): Row => {
    let s = c.settings.get('');
    if (!s) {
      s = { chain_id: chainId, voting_delay: null, voting_period: null, proposal_threshold: null, quorum_numerator: null, late_quorum_vote_extension: null, timelock: null, proposal_guardian: null, timelock_min_delay: null, updated_at_block: e.blockNumber };
      c.settings.put(s);
    }
    s.updated_at_block = e.blockNumber;
    c.settings.touch('');
    return s;
  };

  for (const e of events) {
    const a = e.args;
    switch (e.eventName) {
      // ---- governor ----
      case 'ProposalCreated': {
        c.proposal.put({
          chain_id: chainId,
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
        proposals.add(a.proposalId);
        break;
      }
      case 'VoteCast':
      case 'VoteCastWithParams': {
        const p = proposalRow(a.proposalId);
        const support = Number(a.support);
        if (p) {
          const col = support === 0 ? 'against_votes' : support === 1 ? 'for_votes' : 'abstain_votes';
          p[col] = (BigInt(p[col]) + BigInt(a.weight)).toString();
          p.vote_count += 1;
        }
        delegateRow(a.voter, e).votes_cast += 1;
        votes.push({
          chain_id: chainId,
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
        break;
      }
      case 'ProposalQueued': {
        const p = proposalRow(a.proposalId);
        // the governor's queue() scheduled the operation in this same transaction, just before
        const timelockId = scheduledInTx.get(e.txHash) ?? null;
        if (p) Object.assign(p, { eta: Number(a.etaSeconds), queued_block: e.blockNumber, queued_at: e.blockTime, queued_tx: e.txHash, timelock_id: timelockId });
        if (timelockId) opToProposal.set(timelockId, a.proposalId);
        break;
      }
      case 'ProposalExecuted': {
        const p = proposalRow(a.proposalId);
        if (p) Object.assign(p, { executed_block: e.blockNumber, executed_at: e.blockTime, executed_tx: e.txHash });
        break;
      }
      case 'ProposalCanceled': {
        const p = proposalRow(a.proposalId);
        if (p) Object.assign(p, { canceled_block: e.blockNumber, canceled_at: e.blockTime, canceled_tx: e.txHash });
        break;
      }
      case 'ProposalExtended': {
        const p = proposalRow(a.proposalId);
        if (p) p.extended_deadline = Number(a.extendedDeadline);
        break;
      }
      case 'VotingDelaySet':
        settingsRow(e).voting_delay = Number(a.newVotingDelay);
        break;
      case 'VotingPeriodSet':
        settingsRow(e).voting_period = Number(a.newVotingPeriod);
        break;
      case 'ProposalThresholdSet':
        settingsRow(e).proposal_threshold = a.newProposalThreshold;
        break;
      case 'QuorumNumeratorUpdated':
        settingsRow(e).quorum_numerator = a.newQuorumNumerator;
        break;
      case 'TimelockChange':
        settingsRow(e).timelock = a.newTimelock;
        break;
      case 'LateQuorumVoteExtensionSet':
        settingsRow(e).late_quorum_vote_extension = Number(a.newVoteExtension);
        break;
      case 'ProposalGuardianSet':
        settingsRow(e).proposal_guardian = a.newProposalGuardian;
        break;
      // ---- timelock ----
      case 'CallScheduled':
        scheduledInTx.set(e.txHash, a.id);
        break;
      case 'CallExecuted': {
        // executed through the governor (ProposalExecuted follows in the same tx) or on the timelock directly
        const id = opToProposal.get(a.id);
        const p = id ? proposalRow(id) : undefined;
        if (p && p.executed_block == null) Object.assign(p, { executed_block: e.blockNumber, executed_at: e.blockTime, executed_tx: e.txHash });
        break;
      }
      case 'MinDelayChange':
        settingsRow(e).timelock_min_delay = Number(a.newDuration);
        break;
      // ---- token ----
      case 'Transfer': {
        for (const [addr, sign] of [
          [a.from, -1n],
          [a.to, 1n],
        ] as const) {
          if (addr === ZERO) continue;
          let b = c.balance.get(addr);
          if (!b) {
            b = { chain_id: chainId, address: addr, balance: '0', updated_at_block: e.blockNumber };
            c.balance.put(b);
          }
          b.balance = (BigInt(b.balance) + sign * BigInt(a.value)).toString();
          b.updated_at_block = e.blockNumber;
          c.balance.touch(addr);
        }
        break;
      }
      case 'DelegateChanged': {
        c.delegation.put({ chain_id: chainId, delegator: a.delegator, delegatee: a.toDelegate, updated_at_block: e.blockNumber });
        if (a.fromDelegate !== ZERO) delegateRow(a.fromDelegate, e).delegator_count -= 1;
        if (a.toDelegate !== ZERO) delegateRow(a.toDelegate, e).delegator_count += 1;
        summary.delegatesChanged = true;
        break;
      }
      case 'DelegateVotesChanged':
        delegateRow(a.delegate, e).voting_power = a.newVotes;
        summary.delegatesChanged = true;
        break;
      // ---- registry ----
      case 'ModelRegistered': {
        const rule = a.accessRule;
        c.model.put({
          chain_id: chainId,
          model_id: a.modelId,
          slug: a.slug,
          access_kind: ACCESS_KINDS[Number(rule.kind)] ?? String(rule.kind),
          access_token: rule.token,
          access_min_balance: rule.minBalance,
          current_version: 0,
          version_count: 0,
          registered_at_block: e.blockNumber,
          registered_at: e.blockTime,
          registered_tx: e.txHash,
          updated_at_block: e.blockNumber,
        });
        models.add(a.modelId);
        break;
      }
      case 'AccessRuleChanged': {
        const m = modelRow(a.modelId, e);
        const rule = a.newRule;
        if (m) Object.assign(m, { access_kind: ACCESS_KINDS[Number(rule.kind)] ?? String(rule.kind), access_token: rule.token, access_min_balance: rule.minBalance });
        break;
      }
      case 'VersionPublished': {
        const version = Number(a.version);
        const m = modelRow(a.modelId, e);
        if (m) m.version_count = Math.max(m.version_count, version);
        c.version.put({
          chain_id: chainId,
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
        summary.versionsChanged = true;
        break;
      }
      case 'CurrentVersionChanged': {
        const m = modelRow(a.modelId, e);
        const prev = Number(a.previousVersion);
        const next = Number(a.newVersion);
        if (m) m.current_version = next;
        if (prev > 0 && prev !== next) {
          const v = versionRow(a.modelId, prev);
          if (v) Object.assign(v, { current_to_block: e.blockNumber, current_to: e.blockTime, current_to_tx: e.txHash });
        }
        if (next > 0) {
          const v = versionRow(a.modelId, next);
          if (v && prev !== next) Object.assign(v, { current_from_block: e.blockNumber, current_from: e.blockTime, current_from_tx: e.txHash, current_to_block: null, current_to: null, current_to_tx: null });
        }
        summary.versionsChanged = true;
        models.add(a.modelId);
        break;
      }
      case 'VersionStatusChanged': {
        const v = versionRow(a.modelId, Number(a.version));
        if (v)
          Object.assign(v, {
            status: VERSION_STATUS[Number(a.newStatus)] ?? String(a.newStatus),
            status_changed_block: e.blockNumber,
            status_changed_at: e.blockTime,
            status_changed_tx: e.txHash,
            status_changed_by: a.by,
          });
        summary.versionsChanged = true;
        models.add(a.modelId);
        break;
      }
      case 'AllowlistUpdated':
        c.allowlist.put({ chain_id: chainId, model_id: a.modelId, account: a.account, allowed: a.allowed, updated_at_block: e.blockNumber });
        models.add(a.modelId);
        break;
    }
  }

  // 4. write back (parents before children is irrelevant: no foreign keys, one transaction)
  for (const cache of Object.values(c)) await upsertRows(db, cache.spec, cache.dirtyRows());
  await upsertRows(db, T.vote, votes, 'nothing');
  summary.proposals = [...proposals];
  summary.models = [...models];
  return summary;
}
