import { and, eq, inArray, sql } from 'drizzle-orm';
import { decodeFunctionData, erc20Abi, type Address, type Hex, type PublicClient } from 'viem';
import type { Db } from '../../db/client.ts';
import { indexerCheckpoint, model, modelVersion, proposal, tokenBalance } from '../../db/schema/indexer.ts';
import { modelRegistryAbi } from '../contracts/generated.ts';
import type { Deployment } from '../contracts/deployment.ts';

// The DAO treasury (#16): what the timelock holds and what moved in and out, at the indexed block.
// - the governance token: balance from the index (token_balance), transfers from the indexed
//   Transfer events (token_event) to or from the timelock;
// - other ERC-20s: Transfer events of any other contract to or from the timelock (the indexer's
//   erc20_event), balance = received − sent;
// - ETH: the balance read from the chain at the same block (a plain ETH transfer leaves no log, so
//   incoming ETH is not listed), outflows from the values of executed proposal calls;
// - each outflow is matched to the proposal whose execution transaction moved it (proposal.executed_tx
//   = the transfer's tx hash), and a token outflow executed together with a registry publishVersion or
//   setCurrentVersion is a maintainer reward for that model update.

export interface TreasuryTransfer {
  direction: 'in' | 'out';
  /** 'token': the governance token; 'erc20': another token (tokenAddress) */
  asset: 'ETH' | 'token' | 'erc20';
  tokenAddress: string | null;
  from: string;
  to: string;
  /** wei / token base units, decimal */
  value: string;
  txHash: string;
  blockNumber: number;
  /** unix seconds */
  time: number;
  proposal: { id: string; description: string } | null;
}

export interface TreasuryReward {
  to: string;
  value: string;
  txHash: string;
  time: number;
  proposal: { id: string; description: string };
  /** the model update the reward came with */
  models: { slug: string; version: number | null }[];
}

/** Another ERC-20 the timelock received: balance = indexed transfers in − out. */
export interface OtherToken {
  address: string;
  /** from the token contract: untrusted text, null when it does not answer */
  symbol: string | null;
  decimals: number | null;
  balance: string;
  received: string;
  sent: string;
}

export interface Treasury {
  /** the indexed block every figure is taken at (null before the first indexed block) */
  block: number | null;
  timelock: Address;
  token: Address;
  ethBalance: string;
  tokenBalance: string;
  tokenIn: string;
  tokenOut: string;
  otherTokens: OtherToken[];
  transfers: TreasuryTransfer[];
  rewards: TreasuryReward[];
}

const UPDATE_FUNCTIONS = new Set(['publishVersion', 'setCurrentVersion']);

export async function loadTreasury(db: Db, client: PublicClient, deployment: Deployment, opts: { limit?: number } = {}): Promise<Treasury> {
  const chainId = deployment.chainId;
  const timelock = deployment.contracts.TimelockController;
  const token = deployment.contracts.ModelToken;
  const tl = timelock.toLowerCase();
  const [cp] = await db.select().from(indexerCheckpoint).where(eq(indexerCheckpoint.chainId, chainId));
  const block = cp ? cp.blockNumber : null;
  const [[bal], tokenRows, ethRows, erc20Rows] = await Promise.all([
    db
      .select({ balance: tokenBalance.balance })
      .from(tokenBalance)
      .where(and(eq(tokenBalance.chainId, chainId), eq(tokenBalance.address, tl))),
    // Transfer events of the governance token that touch the timelock (token_event keeps every one)
    db.execute(
      sql`select tx_hash, block_number::float8 as block_number, extract(epoch from block_time)::float8 as t, args->>'from' as "from", args->>'to' as "to", args->>'value' as value
          from token_event where chain_id = ${chainId} and event_name = 'Transfer' and address = ${token.toLowerCase()} and (args->>'from' = ${tl} or args->>'to' = ${tl})
          order by block_number desc, log_index desc`,
    ),
    db
      .select({
        id: proposal.proposalId,
        description: proposal.description,
        targets: proposal.targets,
        values: proposal.values,
        tx: proposal.executedTx,
        block: proposal.executedBlock,
        at: proposal.executedAt,
      })
      .from(proposal)
      .where(
        and(
          eq(proposal.chainId, chainId),
          sql`${proposal.executedTx} is not null`,
          sql`exists (select 1 from jsonb_array_elements_text(${proposal.values}) v where v <> '0')`,
        ),
      ),
    db.execute(
      sql`select tx_hash, block_number::float8 as block_number, extract(epoch from block_time)::float8 as t, address, args->>'from' as "from", args->>'to' as "to", args->>'value' as value
          from erc20_event where chain_id = ${chainId} and event_name = 'Transfer' and (args->>'from' = ${tl} or args->>'to' = ${tl})
          order by block_number desc, log_index desc`,
    ),
  ]);
  const ethBalance = block === null ? 0n : await client.getBalance({ address: timelock, blockNumber: BigInt(block) });

  type Ev = { tx_hash: string; block_number: number; t: number; from: string; to: string; value: string; address?: string };
  const events = tokenRows.rows as Ev[];
  const otherEvents = erc20Rows.rows as Ev[];
  const outTxs = [...new Set([...events, ...otherEvents].filter((e) => e.from === tl).map((e) => e.tx_hash))];
  const byTx = new Map<string, { id: string; description: string; targets: string[]; calldatas: string[] }>();
  if (outTxs.length > 0) {
    const rows = await db
      .select({ id: proposal.proposalId, description: proposal.description, tx: proposal.executedTx, targets: proposal.targets, calldatas: proposal.calldatas })
      .from(proposal)
      .where(and(eq(proposal.chainId, chainId), inArray(proposal.executedTx, outTxs)));
    for (const r of rows) byTx.set(r.tx!, { id: String(r.id), description: r.description, targets: r.targets, calldatas: r.calldatas });
  }

  let tokenIn = 0n;
  let tokenOut = 0n;
  const transfers: TreasuryTransfer[] = events.map((e) => {
    const out = e.from === tl;
    if (out) tokenOut += BigInt(e.value);
    else tokenIn += BigInt(e.value);
    const p = out ? byTx.get(e.tx_hash) : undefined;
    return {
      direction: out ? 'out' : 'in',
      asset: 'token',
      tokenAddress: token.toLowerCase(),
      from: e.from,
      to: e.to,
      value: e.value,
      txHash: e.tx_hash,
      blockNumber: e.block_number,
      time: e.t,
      proposal: p ? { id: p.id, description: p.description } : null,
    };
  });
  for (const p of ethRows) {
    p.values.forEach((v, i) => {
      if (v === '0') return;
      transfers.push({
        direction: 'out',
        asset: 'ETH',
        tokenAddress: null,
        from: tl,
        to: p.targets[i]!.toLowerCase(),
        value: v,
        txHash: p.tx!,
        blockNumber: p.block!,
        time: Math.floor(p.at!.getTime() / 1000),
        proposal: { id: String(p.id), description: p.description },
      });
    });
  }
  const others = new Map<string, { received: bigint; sent: bigint }>();
  for (const e of otherEvents) {
    const out = e.from === tl;
    const o = others.get(e.address!) ?? { received: 0n, sent: 0n };
    // a transfer from the timelock to itself is both
    if (e.to === tl) o.received += BigInt(e.value);
    if (out) o.sent += BigInt(e.value);
    others.set(e.address!, o);
    const p = out ? byTx.get(e.tx_hash) : undefined;
    transfers.push({
      direction: out ? 'out' : 'in',
      asset: 'erc20',
      tokenAddress: e.address!,
      from: e.from,
      to: e.to,
      value: e.value,
      txHash: e.tx_hash,
      blockNumber: e.block_number,
      time: e.t,
      proposal: p ? { id: p.id, description: p.description } : null,
    });
  }
  const otherTokens: OtherToken[] = await Promise.all(
    [...others].map(async ([address, o]) => {
      // the token's own word for its symbol and decimals: untrusted, and optional in ERC-20
      const read = (functionName: 'symbol' | 'decimals') =>
        client.readContract({ address: address as Address, abi: erc20Abi, functionName }).then(
          (v): unknown => v,
          () => null,
        );
      const [symbol, decimals] = await Promise.all([read('symbol'), read('decimals')]);
      return {
        address,
        symbol: typeof symbol === 'string' ? symbol.slice(0, 64) : null,
        decimals: typeof decimals === 'number' && decimals <= 77 ? decimals : null,
        balance: (o.received - o.sent).toString(),
        received: o.received.toString(),
        sent: o.sent.toString(),
      };
    }),
  );
  transfers.sort((a, b) => b.blockNumber - a.blockNumber);

  // rewards: token outflows executed together with a model update
  const registry = deployment.contracts.ModelRegistry.toLowerCase();
  const updates = new Map<string, { modelId: string; fn: string; version: number | null }[]>();
  for (const [tx, p] of byTx) {
    const found: { modelId: string; fn: string; version: number | null }[] = [];
    p.targets.forEach((t, i) => {
      if (t.toLowerCase() !== registry) return;
      try {
        const d = decodeFunctionData({ abi: modelRegistryAbi, data: p.calldatas[i] as Hex });
        if (UPDATE_FUNCTIONS.has(d.functionName)) {
          const args = d.args as readonly unknown[];
          found.push({ modelId: String(args[0]), fn: d.functionName, version: d.functionName === 'setCurrentVersion' ? Number(args[1]) : null });
        }
      } catch {
        // not a registry call this ABI knows: not a model update
      }
    });
    if (found.length > 0) updates.set(tx, found);
  }
  const modelIds = [...new Set([...updates.values()].flat().map((u) => u.modelId))];
  const slugs = new Map<string, string>();
  const publishedIn = new Map<string, number>();
  if (modelIds.length > 0) {
    const [ms, vs] = await Promise.all([
      db
        .select({ id: model.modelId, slug: model.slug })
        .from(model)
        .where(and(eq(model.chainId, chainId), inArray(model.modelId, modelIds))),
      db
        .select({ id: modelVersion.modelId, version: modelVersion.version, tx: modelVersion.publishedTx })
        .from(modelVersion)
        .where(and(eq(modelVersion.chainId, chainId), inArray(modelVersion.publishedTx, [...updates.keys()]))),
    ]);
    for (const m of ms) slugs.set(String(m.id), m.slug);
    for (const v of vs) publishedIn.set(`${v.tx}|${v.id}`, v.version);
  }
  const rewards: TreasuryReward[] = transfers
    .filter((t) => t.asset === 'token' && t.direction === 'out' && t.proposal && updates.has(t.txHash))
    .map((t) => ({
      to: t.to,
      value: t.value,
      txHash: t.txHash,
      time: t.time,
      proposal: t.proposal!,
      models: updates
        .get(t.txHash)!
        .map((u) => ({ slug: slugs.get(u.modelId) ?? `model #${u.modelId}`, version: u.version ?? publishedIn.get(`${t.txHash}|${u.modelId}`) ?? null })),
    }));

  const limit = opts.limit ?? 200;
  return {
    block,
    timelock,
    token,
    ethBalance: ethBalance.toString(),
    tokenBalance: bal ? String(bal.balance) : '0',
    tokenIn: tokenIn.toString(),
    tokenOut: tokenOut.toString(),
    otherTokens,
    transfers: transfers.slice(0, limit),
    rewards,
  };
}
