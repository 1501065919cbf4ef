// The relayer: submits members' signed ballots and delegations from an operator-funded key.
//
// Order of a request (POST /api/relay/vote|delegate):
//   1. shape, signature (recovered off chain), the member's nonce and eligibility, read from the chain;
//   2. simulated from the relayer's address (eth_call) and its gas estimated: nothing the contract
//      would reject is ever sent;
//   3. under one lock (in process) and the nonce journal row (FOR UPDATE, across processes): limits,
//      daily budget and relayer balance checked with this request's reservation (gas limit × max fee),
//      the next nonce taken, the transaction signed and the request row written — one DB transaction;
//   4. only then broadcast. A kill -9 after 3 leaves a row whose signed transaction the next start
//      rebroadcasts (same hash, same nonce: it cannot land twice); a kill before 3 leaves nothing, and
//      the member's retry is a fresh request. A retried request for a message already recorded (a
//      ballot: same voter and proposal; a delegation: same token nonce) answers that row instead of
//      sending again.
// Ballot nonces: ModelGovernor checks that a ballot is signed with nonces(voter) but does not consume
// it (a voter is counted once per proposal), so a member's ballots for several open proposals, signed
// with the same nonce, are all relayed and all count.
// The monitor then follows each pending transaction to its receipt, releases the reservation for
// what was really paid, and replaces a transaction stuck longer than RELAY_STUCK_SECONDS (same nonce,
// fees +25%, never above the gas price ceiling or past the budget).
import crypto from 'node:crypto';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import {
  BaseError,
  ContractFunctionRevertedError,
  encodeFunctionData,
  getAddress,
  isAddress,
  isHex,
  keccak256,
  parseSignature,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { z } from 'zod';
import type { Db } from '../../db/client.ts';
import { relayRequest, relaySender, type RelayAttempt } from '../../db/schema/relay.ts';
import { modelGovernorAbi, modelTokenAbi } from '../contracts/generated.ts';
import type { Deployment } from '../contracts/deployment.ts';
import type { RelayConfig } from '../env.ts';
import { ProposalState } from '../chain/proposal-state.ts';
import { RelayError } from './errors.ts';
import { ballotTypedData, delegationTypedData, isExtendedBallot, type Eip712Domain, type RelayPolicyView, type RelayStatus } from './typed-data.ts';

const uint = z.string().regex(/^[0-9]{1,78}$/, 'must be a decimal integer string');
const address = z.string().refine((a) => isAddress(a, { strict: false }), 'must be a 0x address');
const hex = z.string().refine((h) => isHex(h, { strict: true }), 'must be 0x hex');

const voteBody = z.object({
  proposalId: uint,
  support: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  voter: address,
  nonce: uint,
  reason: z.string().max(10_000).optional(),
  params: hex.optional(),
  signature: hex,
});

const delegateBody = z.object({
  delegator: address,
  delegatee: address,
  nonce: uint,
  expiry: uint,
  signature: hex,
});

type Row = typeof relayRequest.$inferSelect;

/** Gas headroom over the estimate (a vote that reaches quorum late costs more than one that does not). */
const GAS_HEADROOM_PCT = 125n;
/** Fee bump of a replacement; nodes require at least +10%. */
const BUMP_PCT = 125n;

export interface RelayerOptions {
  config: RelayConfig;
  db: Db;
  publicClient: PublicClient;
  deployment: Deployment;
  /** Only the leader follows and replaces pending transactions (one monitor per database). */
  isLeader?: () => boolean;
  log?: (m: string) => void;
  /** the clock for budget days and stuck detection (tests) */
  now?: () => number;
}

export class Relayer {
  readonly account: PrivateKeyAccount | null;
  private readonly cfg: RelayConfig;
  private readonly db: Db;
  private readonly client: PublicClient;
  private readonly chainId: number;
  private readonly governor: Address;
  private readonly token: Address;
  private readonly log: (m: string) => void;
  private readonly now: () => number;
  private readonly domains = new Map<Address, Promise<Eip712Domain>>();
  private lock: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** the journal has been synced with the chain's nonce since this process started */
  private synced = false;

  constructor(private readonly opts: RelayerOptions) {
    this.cfg = opts.config;
    this.db = opts.db;
    this.client = opts.publicClient;
    this.chainId = opts.deployment.chainId;
    this.governor = opts.deployment.contracts.ModelGovernor;
    this.token = opts.deployment.contracts.ModelToken;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.account = this.cfg.enabled && this.cfg.key ? privateKeyToAccount(this.cfg.key.reveal() as Hex) : null;
  }

  /** Reconciles what a previous run left pending, then follows pending transactions. */
  async start(): Promise<void> {
    if (!this.account) return;
    try {
      await this.reconcile();
    } catch (err) {
      this.log(`relay: reconcile failed (${firstLine(err)}); retried by the monitor`);
    }
    this.timer = setInterval(() => void this.tick(), this.cfg.pollMs);
    this.timer.unref();
    this.log(`relay: on, sender ${this.account.address}${this.cfg.devKey ? ' (anvil dev account #8)' : ''}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await this.lock.catch(() => {});
  }

  // ---- requests ---------------------------------------------------------------------------

  async relayVote(input: unknown): Promise<{ created: boolean; status: RelayStatus }> {
    const sender = this.enabled();
    const b = parse(voteBody, input);
    const voter = getAddress(b.voter);
    const proposalId = BigInt(b.proposalId);
    const nonce = BigInt(b.nonce);
    const domain = await this.domainOf(this.governor);
    const ballot = { proposalId, support: b.support, voter, nonce, reason: b.reason, params: b.params as Hex | undefined };
    await this.checkSignature(voter, ballotTypedData(domain, ballot), b.signature as Hex);

    // A ballot counts once per (voter, proposal): that, not the nonce (which ModelGovernor checks but does not
    // consume), is what a recorded request is keyed by.
    const replayKey = String(proposalId);
    const signature = b.signature as Hex;
    const data = isExtendedBallot(ballot)
      ? encodeFunctionData({
          abi: modelGovernorAbi,
          functionName: 'castVoteWithReasonAndParamsBySig',
          args: [proposalId, b.support, voter, b.reason ?? '', (b.params as Hex | undefined) ?? '0x', signature],
        })
      : encodeFunctionData({ abi: modelGovernorAbi, functionName: 'castVoteBySig', args: [proposalId, b.support, voter, signature] });
    const existing = await this.findRecorded(this.governor, voter, replayKey);
    if (existing) return { created: false, status: toStatus(sameBallot(existing, data)) };

    const [chainNonce, state, hasVoted] = await this.reads(
      Promise.all([
        this.client.readContract({ address: this.governor, abi: modelGovernorAbi, functionName: 'nonces', args: [voter] }),
        this.client.readContract({ address: this.governor, abi: modelGovernorAbi, functionName: 'state', args: [proposalId] }),
        this.client.readContract({ address: this.governor, abi: modelGovernorAbi, functionName: 'hasVoted', args: [proposalId, voter] }),
      ]),
    ).catch((err) => {
      if (revertName(err) === 'GovernorNonexistentProposal') throw new RelayError('unknown_proposal', `proposal ${proposalId} does not exist`);
      throw err;
    });
    if (hasVoted) throw new RelayError('already_voted', `${voter} has already voted on proposal ${proposalId}`);
    if (chainNonce !== nonce) throw new RelayError('bad_nonce', `the ballot is signed with nonce ${nonce}; the governor expects ${chainNonce} for ${voter}`);
    if (state !== ProposalState.Active) throw new RelayError('voting_closed', `proposal ${proposalId} is not open for voting`);
    if (!this.qualifies(proposalId)) throw new RelayError('not_eligible', `the operator does not relay votes on proposal ${proposalId}`);
    const snapshot = await this.snapshotOf(proposalId);
    const weight = await this.client.readContract({ address: this.governor, abi: modelGovernorAbi, functionName: 'getVotes', args: [voter, snapshot] });
    if (weight === 0n)
      throw new RelayError('not_eligible', `${voter} had no voting power at the proposal's snapshot; the relayer pays only for votes that count`);

    return this.submit(sender, {
      kind: 'vote',
      target: this.governor,
      signer: voter,
      replayKey,
      proposalId,
      data,
      detail: { support: String(b.support), ...(b.reason ? { reason: b.reason.slice(0, 2000) } : {}) },
    });
  }

  async relayDelegate(input: unknown): Promise<{ created: boolean; status: RelayStatus }> {
    const sender = this.enabled();
    const b = parse(delegateBody, input);
    const delegator = getAddress(b.delegator);
    const delegatee = getAddress(b.delegatee);
    const nonce = BigInt(b.nonce);
    const expiry = BigInt(b.expiry);
    const domain = await this.domainOf(this.token);
    const signature = b.signature as Hex;
    // delegateBySig recovers the signer (ECDSA only): the delegator is whoever signed.
    await this.checkSignature(delegator, delegationTypedData(domain, { delegatee, nonce, expiry }), signature, false);

    // delegateBySig consumes the token nonce: a delegation is single-use by it
    const existing = await this.findRecorded(this.token, delegator, String(nonce));
    if (existing) return { created: false, status: toStatus(existing) };

    const [chainNonce, block, balance] = await this.reads(
      Promise.all([
        this.client.readContract({ address: this.token, abi: modelTokenAbi, functionName: 'nonces', args: [delegator] }),
        this.client.getBlock({ blockTag: 'latest' }),
        this.client.readContract({ address: this.token, abi: modelTokenAbi, functionName: 'balanceOf', args: [delegator] }),
      ]),
    );
    // The next block's timestamp is at least one second later than the latest's.
    if (expiry <= block.timestamp) throw new RelayError('expired', `the delegation expired at ${expiry} (chain time ${block.timestamp})`);
    if (chainNonce !== nonce)
      throw new RelayError('bad_nonce', `the delegation is signed with nonce ${nonce}; the token expects ${chainNonce} for ${delegator}`);
    if (balance === 0n) throw new RelayError('not_eligible', `${delegator} holds no tokens; the relayer pays only for delegations that move votes`);

    const { r, s, v, yParity } = parseSignature(signature);
    const data = encodeFunctionData({
      abi: modelTokenAbi,
      functionName: 'delegateBySig',
      args: [delegatee, nonce, expiry, Number(v ?? BigInt(yParity + 27)), r, s],
    });
    return this.submit(sender, {
      kind: 'delegate',
      target: this.token,
      signer: delegator,
      replayKey: String(nonce),
      proposalId: null,
      data,
      detail: { delegatee },
    });
  }

  async status(id: string): Promise<RelayStatus> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new RelayError('not_found', 'no relayed request with this id');
    const [row] = await this.db.select().from(relayRequest).where(eq(relayRequest.id, id)).limit(1);
    if (!row) throw new RelayError('not_found', 'no relayed request with this id');
    return toStatus(row);
  }

  async policy(): Promise<RelayPolicyView> {
    const day = this.day();
    const [spent] = await this.db
      .execute<{ spent: string | null; reserved: string | null }>(
        sql`
      select sum(coalesce(${relayRequest.spentWei}, '0')::numeric)::text as spent,
             sum(${relayRequest.reservedWei}::numeric)::text as reserved
      from ${relayRequest} where ${relayRequest.chainId} = ${this.chainId} and ${relayRequest.budgetDay} = ${day}`,
      )
      .then((r) => r.rows as { spent: string | null; reserved: string | null }[]);
    let balance: string | null = null;
    if (this.account) balance = String((await this.client.getBalance({ address: this.account.address }).catch(() => null)) ?? '') || null;
    return {
      enabled: this.account !== null,
      relayer: this.account?.address ?? null,
      chainId: this.chainId,
      governor: this.governor,
      token: this.token,
      accountDailyLimit: this.cfg.accountDailyLimit,
      proposalLimit: this.cfg.proposalLimit,
      maxFeePerGasWei: String(this.cfg.maxFeePerGasWei),
      dailyBudgetWei: String(this.cfg.dailyBudgetWei),
      spentTodayWei: spent?.spent ?? '0',
      reservedWei: spent?.reserved ?? '0',
      proposals: Array.isArray(this.cfg.proposals) ? this.cfg.proposals.map(String) : this.cfg.proposals,
      relayerBalanceWei: balance,
    };
  }

  // ---- submission ---------------------------------------------------------------------------

  private async submit(
    sender: PrivateKeyAccount,
    r: {
      kind: 'vote' | 'delegate';
      target: Address;
      signer: Address;
      /** what makes the signed message single-use on chain (see relay_request.replayKey) */
      replayKey: string;
      proposalId: bigint | null;
      data: Hex;
      detail: Record<string, string>;
    },
  ): Promise<{ created: boolean; status: RelayStatus }> {
    // 2. simulate from the relayer's address: a revert here is the contract's verdict, sent nowhere.
    let gasEstimate: bigint;
    try {
      await this.client.call({ account: sender.address, to: r.target, data: r.data });
      gasEstimate = await this.client.estimateGas({ account: sender.address, to: r.target, data: r.data });
    } catch (err) {
      throw refusalOf(err);
    }
    const gas = (gasEstimate * GAS_HEADROOM_PCT) / 100n;
    const fees = await this.client.estimateFeesPerGas().catch((err) => {
      throw new RelayError('chain_unavailable', `fee estimate failed: ${firstLine(err)}`);
    });
    if (fees.maxFeePerGas > this.cfg.maxFeePerGasWei) {
      throw new RelayError('gas_price_too_high', `gas costs ${fees.maxFeePerGas} wei now, above the relayer's ceiling of ${this.cfg.maxFeePerGasWei} wei`);
    }
    const reservation = gas * fees.maxFeePerGas;

    // 3. one at a time: limits, budget, balance, nonce, signed tx and row in one DB transaction.
    // Read before the lock: transactions mined since are then counted twice (still pending and already
    // paid), which only errs on the safe side.
    const balance = await this.client.getBalance({ address: sender.address, blockTag: 'latest' }).catch((err) => {
      throw new RelayError('chain_unavailable', `balance read failed: ${firstLine(err)}`);
    });
    const row = await this.exclusive(async () => {
      // normally synced by reconcile() at start; if the chain was unreachable then, once here
      const chainPending = this.synced ? 0 : await this.client.getTransactionCount({ address: sender.address, blockTag: 'pending' });
      const id = crypto.randomUUID();
      const day = this.day();
      const inserted = await this.db.transaction(async (tx) => {
        // the journal is the nonce's source of truth (synced with the chain at start, see reconcile)
        const nextNonce = await this.claimNonce(tx as unknown as Db, sender.address, chainPending);
        const again = await this.findRecorded(r.target, r.signer, r.replayKey, tx as unknown as Db);
        if (again) return { row: r.kind === 'vote' ? sameBallot(again, r.data) : again, created: false };

        const [counts] = (
          await tx.execute(sql`
          select
            (select count(*) from ${relayRequest} where ${relayRequest.chainId} = ${this.chainId} and ${relayRequest.signer} = ${r.signer.toLowerCase()}
               and ${relayRequest.budgetDay} = ${day} and ${relayRequest.status} <> 'failed')::int as account_count,
            (select count(*) from ${relayRequest} where ${relayRequest.chainId} = ${this.chainId} and ${relayRequest.proposalId} = ${r.proposalId === null ? null : String(r.proposalId)}
               and ${relayRequest.status} <> 'failed')::int as proposal_count,
            (select coalesce(sum(${relayRequest.reservedWei}::numeric + coalesce(${relayRequest.spentWei}, '0')::numeric), 0)::text from ${relayRequest}
               where ${relayRequest.chainId} = ${this.chainId} and ${relayRequest.budgetDay} = ${day}) as used_today,
            (select coalesce(sum(${relayRequest.reservedWei}::numeric), 0)::text from ${relayRequest}
               where ${relayRequest.chainId} = ${this.chainId} and ${relayRequest.sender} = ${sender.address.toLowerCase()} and ${relayRequest.status} = 'submitted') as pending_reserved
        `)
        ).rows as { account_count: number; proposal_count: number; used_today: string; pending_reserved: string }[];
        if (!counts) throw new Error('relay counts query returned no row');
        if (counts.account_count >= this.cfg.accountDailyLimit) {
          throw new RelayError('account_limit', `${r.signer} has used its ${this.cfg.accountDailyLimit} relayed requests for today (UTC)`);
        }
        if (r.proposalId !== null && counts.proposal_count >= this.cfg.proposalLimit) {
          throw new RelayError('proposal_limit', `proposal ${r.proposalId} has had its ${this.cfg.proposalLimit} relayed votes`);
        }
        if (BigInt(counts.used_today) + reservation > this.cfg.dailyBudgetWei) {
          throw new RelayError(
            'over_budget',
            `the relayer's daily budget (${this.cfg.dailyBudgetWei} wei) would be exceeded; send the transaction from your wallet`,
          );
        }
        if (BigInt(counts.pending_reserved) + reservation > balance) {
          throw new RelayError('relayer_out_of_funds', `the relayer's balance (${balance} wei) cannot pay for this transaction; send it from your wallet`);
        }
        const attempt = await this.sign(sender, {
          to: r.target,
          data: r.data,
          gas,
          nonce: nextNonce,
          maxFeePerGas: fees.maxFeePerGas,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? 0n,
        });
        const [created] = await tx
          .insert(relayRequest)
          .values({
            id,
            chainId: this.chainId,
            kind: r.kind,
            target: r.target.toLowerCase(),
            signer: r.signer.toLowerCase(),
            replayKey: r.replayKey,
            proposalId: r.proposalId === null ? null : String(r.proposalId),
            calldata: r.data,
            detail: r.detail,
            status: 'submitted',
            sender: sender.address.toLowerCase(),
            nonce: nextNonce,
            gasLimit: String(gas),
            attempts: [attempt],
            reservedWei: String(reservation),
            budgetDay: day,
            txHash: attempt.hash,
          })
          .returning();
        await tx
          .update(relaySender)
          .set({ nextNonce: nextNonce + 1, updatedAt: new Date() })
          .where(and(eq(relaySender.chainId, this.chainId), eq(relaySender.address, sender.address.toLowerCase())));
        return { row: created!, created: true };
      });
      this.synced = true;
      // 4. broadcast after the commit. A failure here leaves the row pending: the monitor rebroadcasts.
      if (inserted.created) await this.broadcast(inserted.row.attempts.at(-1)!.raw as Hex, inserted.row.id);
      return inserted;
    });
    return { created: row.created, status: toStatus(row.row) };
  }

  /** The next nonce from the journal (row locked for this transaction), never behind the chain's pending count. */
  private async claimNonce(tx: Db, sender: Address, chainPending: number): Promise<number> {
    const key = and(eq(relaySender.chainId, this.chainId), eq(relaySender.address, sender.toLowerCase()));
    await tx.insert(relaySender).values({ chainId: this.chainId, address: sender.toLowerCase(), nextNonce: chainPending }).onConflictDoNothing();
    const [row] = await tx.select().from(relaySender).where(key).for('update');
    // Behind the chain: someone else used the key (or the journal was reset); never reuse a nonce.
    if (chainPending > row!.nextNonce) await tx.update(relaySender).set({ nextNonce: chainPending, updatedAt: new Date() }).where(key);
    return Math.max(row!.nextNonce, chainPending);
  }

  private async sign(
    sender: PrivateKeyAccount,
    t: { to: Address; data: Hex; gas: bigint; nonce: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  ): Promise<RelayAttempt> {
    const raw = await sender.signTransaction({ type: 'eip1559', chainId: this.chainId, value: 0n, ...t });
    return {
      hash: keccak256(raw),
      raw,
      maxFeePerGas: String(t.maxFeePerGas),
      maxPriorityFeePerGas: String(t.maxPriorityFeePerGas),
      at: new Date(this.now()).toISOString(),
    };
  }

  private async broadcast(raw: Hex, id: string): Promise<void> {
    try {
      await this.client.request({ method: 'eth_sendRawTransaction', params: [raw] });
    } catch (err) {
      const msg = firstLine(err);
      // Already in the pool or already mined: what a rebroadcast expects.
      if (/already known|already imported|nonce too low|known transaction/i.test(msg)) return;
      this.log(`relay: broadcast of ${id} failed (${msg}); the monitor retries`);
    }
  }

  // ---- following pending transactions ----------------------------------------------------

  /** After a restart: rebroadcast every pending request's latest transaction, then settle what mined. */
  async reconcile(): Promise<void> {
    if (!this.account) return;
    const sender = this.account.address;
    const chainPending = await this.client.getTransactionCount({ address: sender, blockTag: 'pending' });
    await this.db.transaction(async (tx) => {
      await this.claimNonce(tx as unknown as Db, sender, chainPending);
    });
    this.synced = true;
    const pending = await this.pendingRows();
    for (const row of pending) await this.broadcast(row.attempts.at(-1)!.raw as Hex, row.id);
    await this.settle(pending);
    if (pending.length) this.log(`relay: reconciled ${pending.length} pending request(s) with the chain`);
  }

  /** One monitor pass (also callable from tests). */
  tick(): Promise<void> {
    if (this.stopped || !this.account || (this.opts.isLeader && !this.opts.isLeader())) return Promise.resolve();
    this.ticking ??= (async () => {
      try {
        const pending = await this.pendingRows();
        if (pending.length) await this.settle(pending);
      } catch (err) {
        this.log(`relay: monitor pass failed (${firstLine(err)})`);
      } finally {
        this.ticking = null;
      }
    })();
    return this.ticking;
  }

  private pendingRows(): Promise<Row[]> {
    return this.db
      .select()
      .from(relayRequest)
      .where(and(eq(relayRequest.chainId, this.chainId), eq(relayRequest.sender, this.account!.address.toLowerCase()), eq(relayRequest.status, 'submitted')))
      .orderBy(asc(relayRequest.nonce));
  }

  private async settle(rows: Row[]): Promise<void> {
    // The chain's nonce first: a receipt looked up after it is seen is final for every lower nonce.
    const chainNonce = await this.client.getTransactionCount({ address: this.account!.address, blockTag: 'latest' });
    for (const row of rows) {
      let receipt = null;
      for (const a of [...row.attempts].reverse()) {
        receipt = await this.client.getTransactionReceipt({ hash: a.hash as Hex }).catch(() => null);
        if (receipt) break;
      }
      if (receipt) {
        const spent = receipt.gasUsed * receipt.effectiveGasPrice;
        const ok = receipt.status === 'success';
        await this.db
          .update(relayRequest)
          .set({
            status: ok ? 'mined' : 'reverted',
            txHash: receipt.transactionHash,
            blockNumber: Number(receipt.blockNumber),
            gasUsed: String(receipt.gasUsed),
            spentWei: String(spent),
            reservedWei: '0',
            ...(ok ? {} : { errorCode: 'reverted', errorMessage: 'the transaction reverted on chain' }),
            updatedAt: new Date(),
          })
          .where(and(eq(relayRequest.id, row.id), eq(relayRequest.status, 'submitted')));
        continue;
      }
      if (chainNonce > row.nonce) {
        // The nonce was used by a transaction that is none of ours (the key is used elsewhere): the
        // request was not carried out, and the journal moves past what the chain has used.
        await this.db
          .update(relaySender)
          .set({ nextNonce: sql`greatest(${relaySender.nextNonce}, ${chainNonce})`, updatedAt: new Date() })
          .where(and(eq(relaySender.chainId, this.chainId), eq(relaySender.address, this.account!.address.toLowerCase())));
        await this.db
          .update(relayRequest)
          .set({
            status: 'failed',
            reservedWei: '0',
            errorCode: 'nonce_consumed',
            errorMessage: `relayer nonce ${row.nonce} was used by another transaction`,
            updatedAt: new Date(),
          })
          .where(and(eq(relayRequest.id, row.id), eq(relayRequest.status, 'submitted')));
        continue;
      }
      const last = row.attempts.at(-1)!;
      if (this.now() - Date.parse(last.at) >= this.cfg.stuckMs) await this.replace(row);
    }
  }

  /** Same nonce, same call, fees +25% (capped at the ceiling and the budget); else the same tx again. */
  private async replace(row: Row): Promise<void> {
    const sender = this.account!;
    const last = row.attempts.at(-1)!;
    const maxFee = (BigInt(last.maxFeePerGas) * BUMP_PCT) / 100n;
    const prio = (BigInt(last.maxPriorityFeePerGas) * BUMP_PCT) / 100n + 1n;
    const gas = BigInt(row.gasLimit);
    const extra = gas * maxFee - BigInt(row.reservedWei);
    await this.exclusive(async () => {
      const [used] = (
        await this.db.execute(sql`
        select coalesce(sum(${relayRequest.reservedWei}::numeric + coalesce(${relayRequest.spentWei}, '0')::numeric), 0)::text as used
        from ${relayRequest} where ${relayRequest.chainId} = ${this.chainId} and ${relayRequest.budgetDay} = ${row.budgetDay}`)
      ).rows as { used: string }[];
      const affordable = maxFee <= this.cfg.maxFeePerGasWei && BigInt(used!.used) + extra <= this.cfg.dailyBudgetWei;
      if (!affordable) {
        // No bump within the policy: keep the transaction in the pool and wait for the gas price to fall.
        await this.broadcast(last.raw as Hex, row.id);
        await this.db
          .update(relayRequest)
          .set({ attempts: [...row.attempts.slice(0, -1), { ...last, at: new Date(this.now()).toISOString() }], updatedAt: new Date() })
          .where(and(eq(relayRequest.id, row.id), eq(relayRequest.status, 'submitted')));
        return;
      }
      const attempt = await this.sign(sender, {
        to: getAddress(row.target),
        data: row.calldata as Hex,
        gas,
        nonce: row.nonce,
        maxFeePerGas: maxFee,
        maxPriorityFeePerGas: prio,
      });
      const updated = await this.db
        .update(relayRequest)
        .set({ attempts: [...row.attempts, attempt], txHash: attempt.hash, reservedWei: String(gas * maxFee), updatedAt: new Date() })
        .where(and(eq(relayRequest.id, row.id), eq(relayRequest.status, 'submitted')))
        .returning({ id: relayRequest.id });
      if (updated.length) {
        this.log(`relay: replaced stuck ${row.kind} ${row.id} (nonce ${row.nonce}) with fees ${maxFee} wei/gas`);
        await this.broadcast(attempt.raw as Hex, row.id);
      }
    });
  }

  // ---- helpers ------------------------------------------------------------------------------

  private enabled(): PrivateKeyAccount {
    if (!this.account) throw new RelayError('relay_disabled', 'this server does not relay transactions; send it from your wallet');
    return this.account;
  }

  private qualifies(proposalId: bigint): boolean {
    const p = this.cfg.proposals;
    return p === 'all' ? true : p === 'none' ? false : p.includes(proposalId);
  }

  private day(): string {
    return new Date(this.now()).toISOString().slice(0, 10);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  private readonly snapshots = new Map<bigint, bigint>();
  /** A proposal's snapshot timepoint never changes once proposed. */
  private async snapshotOf(proposalId: bigint): Promise<bigint> {
    let s = this.snapshots.get(proposalId);
    if (s === undefined) {
      s = await this.client.readContract({ address: this.governor, abi: modelGovernorAbi, functionName: 'proposalSnapshot', args: [proposalId] });
      if (this.snapshots.size > 10_000) this.snapshots.clear();
      this.snapshots.set(proposalId, s);
    }
    return s;
  }

  private domainOf(contract: Address): Promise<Eip712Domain> {
    let d = this.domains.get(contract);
    if (!d) {
      d = this.client
        .readContract({ address: contract, abi: contract === this.governor ? modelGovernorAbi : modelTokenAbi, functionName: 'eip712Domain' })
        .then(([, name, version, chainId, verifyingContract]) => ({ name, version, chainId: Number(chainId), verifyingContract }));
      d.catch(() => this.domains.delete(contract));
      this.domains.set(contract, d);
    }
    return d.catch((err) => {
      throw new RelayError('chain_unavailable', `cannot read the EIP-712 domain: ${firstLine(err)}`);
    });
  }

  /** The signature must recover to the signer. A contract account (ERC-1271) is left to the simulation when allowed. */
  private async checkSignature(
    signer: Address,
    typed: Parameters<typeof recoverTypedDataAddress>[0] extends infer P ? Omit<Extract<P, object>, 'signature'> : never,
    signature: Hex,
    allowContract = true,
  ): Promise<void> {
    let recovered: Address | null = null;
    try {
      recovered = await recoverTypedDataAddress({ ...(typed as object), signature } as Parameters<typeof recoverTypedDataAddress>[0]);
    } catch {
      recovered = null;
    }
    if (recovered && recovered.toLowerCase() === signer.toLowerCase()) return;
    if (allowContract) {
      const code = await this.client.getCode({ address: signer }).catch(() => undefined);
      if (code && code !== '0x') return;
    }
    throw new RelayError('invalid_signature', `the signature is not ${signer}'s over this message (chain ${this.chainId}, contract and nonce included)`);
  }

  /** The request already recorded (and not failed) for this signer's message, by its replay key. */
  private findRecorded(target: Address, signer: Address, replayKey: string, db: Db = this.db): Promise<Row | undefined> {
    return db
      .select()
      .from(relayRequest)
      .where(
        and(
          eq(relayRequest.chainId, this.chainId),
          eq(relayRequest.target, target.toLowerCase()),
          eq(relayRequest.signer, signer.toLowerCase()),
          eq(relayRequest.replayKey, replayKey),
          ne(relayRequest.status, 'failed'),
        ),
      )
      .limit(1)
      .then((r) => r[0]);
  }

  private async reads<T>(all: Promise<T>): Promise<T> {
    try {
      return await all;
    } catch (err) {
      if (revertName(err)) throw err;
      throw new RelayError('chain_unavailable', `chain read failed: ${firstLine(err)}`);
    }
  }
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new RelayError('invalid_request', `${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}

function revertName(err: unknown): string | null {
  if (!(err instanceof BaseError)) return null;
  const r = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (r instanceof ContractFunctionRevertedError) return r.data?.errorName ?? null;
  return null;
}

const ERROR_SELECTORS: Record<string, { code: ConstructorParameters<typeof RelayError>[0]; message: string }> = {};
for (const abi of [modelGovernorAbi, modelTokenAbi]) {
  for (const item of abi) {
    if (item.type !== 'error') continue;
    const sig = `${item.name}(${item.inputs.map((i) => i.type).join(',')})`;
    ERROR_SELECTORS[keccak256(new TextEncoder().encode(sig)).slice(0, 10)] = { code: codeOfRevert(item.name), message: item.name };
  }
}

function codeOfRevert(name: string): ConstructorParameters<typeof RelayError>[0] {
  switch (name) {
    case 'GovernorAlreadyCastVote':
      return 'already_voted';
    case 'GovernorInvalidSignature':
    case 'ECDSAInvalidSignature':
    case 'ECDSAInvalidSignatureLength':
    case 'ECDSAInvalidSignatureS':
      return 'invalid_signature';
    case 'VotesExpiredSignature':
      return 'expired';
    case 'InvalidAccountNonce':
      return 'bad_nonce';
    case 'GovernorUnexpectedProposalState':
      return 'voting_closed';
    case 'GovernorNonexistentProposal':
      return 'unknown_proposal';
    default:
      return 'would_revert';
  }
}

/** A failed simulation as the member's refusal (the contract's custom error decoded when known). */
function refusalOf(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  let data: string | undefined;
  if (err instanceof BaseError) {
    err.walk((e) => {
      const d = (e as { data?: unknown }).data;
      if (typeof d === 'string' && d.startsWith('0x') && d.length >= 10) data = d;
      return false;
    });
  }
  const known = data ? ERROR_SELECTORS[data.slice(0, 10)] : undefined;
  if (known) return new RelayError(known.code, `the contract would reject it: ${known.message}`);
  const msg = firstLine(err);
  if (/revert/i.test(msg)) return new RelayError('would_revert', `the contract would reject it: ${msg}`);
  return new RelayError('chain_unavailable', `simulation failed: ${msg}`);
}

function firstLine(err: unknown): string {
  const m = err instanceof BaseError ? err.shortMessage : err instanceof Error ? err.message : String(err);
  return m.split('\n')[0]!.slice(0, 300);
}

/**
 * The recorded request of a voter's ballot on a proposal, when `data` is that same ballot (a retry answers its
 * request); another ballot of the same voter on the same proposal cannot count too (409 already_voted).
 */
function sameBallot(row: Row, data: Hex): Row {
  if (row.calldata.toLowerCase() === data.toLowerCase()) return row;
  throw new RelayError(
    'already_voted',
    `another ballot of ${getAddress(row.signer)} on proposal ${row.proposalId} is already relayed (request ${row.id}, ${row.status}); a voter is counted once`,
  );
}

function toStatus(row: Row): RelayStatus {
  return {
    id: row.id,
    kind: row.kind as RelayStatus['kind'],
    status: row.status as RelayStatus['status'],
    signer: getAddress(row.signer),
    proposalId: row.proposalId,
    txHash: row.txHash,
    txHashes: row.attempts.map((a) => a.hash),
    nonce: row.nonce,
    blockNumber: row.blockNumber,
    gasUsed: row.gasUsed,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    createdAt: row.createdAt.toISOString(),
  };
}
