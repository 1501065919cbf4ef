// Compares the index with what the contracts' views say, row by row. Returns the differences.
import { sql } from 'drizzle-orm';
import type { Address, PublicClient } from 'viem';
import type { Db } from '../../db/client.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi } from '../../lib/contracts/generated.ts';
import { deriveProposalState, ProposalState } from '../../lib/chain/proposal-state.ts';
import { loadQuorumAt } from '../../lib/indexer/quorum.ts';

const STATUS = ['Active', 'Deprecated', 'Revoked'];
const KINDS = ['Public', 'TokenHolders', 'Allowlist'];
// IGovernor.ProposalState
const Canceled = 2;
const Queued = 5;
const Executed = 7;

export async function compareWithChain(db: Db, pub: PublicClient, d: Deployment, blockNumber?: bigint): Promise<string[]> {
  const diffs: string[] = [];
  const eq = (what: string, indexed: unknown, chain: unknown) => {
    if (String(indexed) !== String(chain)) diffs.push(`${what}: index ${String(indexed)} ≠ chain ${String(chain)}`);
  };
  const c = d.contracts;
  const read = (address: Address, abi: any, functionName: string, args: unknown[] = []) =>
    pub.readContract({ address, abi, functionName, args, blockNumber } as any) as Promise<any>;
  const rows = async (q: string) => (await db.execute(sql.raw(q))).rows as any[];
  const epoch = (col: string) => `extract(epoch from ${col})::bigint::text AS ${col}`;

  // proposals
  const now = (await pub.getBlock(blockNumber === undefined ? { blockTag: 'latest' } : { blockNumber })).timestamp;
  const numerator = Number(await read(c.ModelGovernor, modelGovernorAbi, 'quorumNumerator', []));
  const quorumAt = await loadQuorumAt(db, d.chainId, numerator);
  const proposals = await rows(
    `SELECT proposal_id::text AS id, proposer, for_votes::text AS f, against_votes::text AS a, abstain_votes::text AS ab, vote_count, ${epoch('vote_start')}, ${epoch('vote_end')}, ${epoch('extended_deadline')}, ${epoch('eta')}, executed_block, canceled_block, queued_block FROM proposal WHERE chain_id = ${d.chainId}`,
  );
  for (const p of proposals) {
    const id = BigInt(p.id);
    const [against, forVotes, abstain] = await read(c.ModelGovernor, modelGovernorAbi, 'proposalVotes', [id]);
    eq(`proposal ${p.id} for`, p.f, forVotes);
    eq(`proposal ${p.id} against`, p.a, against);
    eq(`proposal ${p.id} abstain`, p.ab, abstain);
    eq(`proposal ${p.id} proposer`, p.proposer, (await read(c.ModelGovernor, modelGovernorAbi, 'proposalProposer', [id])).toLowerCase());
    eq(`proposal ${p.id} snapshot`, p.vote_start, await read(c.ModelGovernor, modelGovernorAbi, 'proposalSnapshot', [id]));
    eq(`proposal ${p.id} deadline`, p.extended_deadline ?? p.vote_end, await read(c.ModelGovernor, modelGovernorAbi, 'proposalDeadline', [id]));
    eq(`proposal ${p.id} eta`, p.eta ?? 0, await read(c.ModelGovernor, modelGovernorAbi, 'proposalEta', [id]));
    const state = Number(await read(c.ModelGovernor, modelGovernorAbi, 'state', [id]));
    // the state the app derives from the index alone (lists), against the governor's own
    const derived = deriveProposalState(
      {
        voteStart: BigInt(p.vote_start),
        voteEnd: BigInt(p.extended_deadline ?? p.vote_end),
        forVotes: BigInt(p.f),
        againstVotes: BigInt(p.a),
        abstainVotes: BigInt(p.ab),
        quorum: quorumAt(BigInt(p.vote_start)),
        eta: p.eta ? BigInt(p.eta) : null,
        queued: p.queued_block !== null,
        executed: p.executed_block !== null,
        canceled: p.canceled_block !== null,
      },
      now,
    );
    eq(`proposal ${p.id} state`, ProposalState[derived], ProposalState[state]);
    eq(`proposal ${p.id} quorum`, quorumAt(BigInt(p.vote_start)), await read(c.ModelGovernor, modelGovernorAbi, 'quorum', [BigInt(p.vote_start)]));
    eq(`proposal ${p.id} executed`, p.executed_block !== null, state === Executed);
    eq(`proposal ${p.id} canceled`, p.canceled_block !== null, state === Canceled);
    if (state === Queued) eq(`proposal ${p.id} queued`, p.queued_block !== null, true);
  }
  const votes = await rows(`SELECT proposal_id::text AS id, voter, weight::text AS w FROM vote WHERE chain_id = ${d.chainId}`);
  for (const v of votes)
    eq(`vote ${v.id}/${v.voter} recorded on chain`, true, await read(c.ModelGovernor, modelGovernorAbi, 'hasVoted', [BigInt(v.id), v.voter]));
  const votesPerProposal = new Map<string, number>();
  for (const v of votes) votesPerProposal.set(v.id, (votesPerProposal.get(v.id) ?? 0) + 1);
  for (const p of proposals) eq(`proposal ${p.id} vote_count`, p.vote_count, votesPerProposal.get(p.id) ?? 0);

  // delegates, delegations, balances
  for (const r of await rows(`SELECT address, voting_power::text AS vp, delegator_count FROM delegate WHERE chain_id = ${d.chainId}`)) {
    eq(`votes of ${r.address}`, r.vp, await read(c.ModelToken, modelTokenAbi, 'getVotes', [r.address]));
  }
  const delegations = await rows(`SELECT delegator, delegatee FROM delegation WHERE chain_id = ${d.chainId}`);
  for (const r of delegations)
    eq(`delegate of ${r.delegator}`, r.delegatee, (await read(c.ModelToken, modelTokenAbi, 'delegates', [r.delegator])).toLowerCase());
  const counts = await rows(
    `SELECT d.address, d.delegator_count, (SELECT count(*)::int FROM delegation x WHERE x.chain_id = d.chain_id AND x.delegatee = d.address) AS n FROM delegate d WHERE d.chain_id = ${d.chainId}`,
  );
  for (const r of counts) eq(`delegator count of ${r.address}`, r.delegator_count, r.n);
  for (const r of await rows(`SELECT address, balance::text AS b FROM token_balance WHERE chain_id = ${d.chainId}`)) {
    eq(`balance of ${r.address}`, r.b, await read(c.ModelToken, modelTokenAbi, 'balanceOf', [r.address]));
  }

  // registry
  const models = await rows(
    `SELECT model_id::text AS id, slug, access_kind, access_token, access_min_balance::text AS mb, current_version, version_count FROM model WHERE chain_id = ${d.chainId}`,
  );
  eq('model count', models.length, await read(c.ModelRegistry, modelRegistryAbi, 'modelCount'));
  for (const m of models) {
    const [slug, versionCount, current, rule] = await read(c.ModelRegistry, modelRegistryAbi, 'getModel', [BigInt(m.id)]);
    eq(`model ${m.id} slug`, m.slug, slug);
    eq(`model ${m.id} versionCount`, m.version_count, versionCount);
    eq(`model ${m.id} current`, m.current_version, current);
    eq(`model ${m.id} access kind`, m.access_kind, KINDS[rule.kind]);
    eq(`model ${m.id} access token`, m.access_token, rule.token.toLowerCase());
    eq(`model ${m.id} min balance`, m.mb, rule.minBalance);
  }
  const versions = await rows(
    `SELECT model_id::text AS id, version, manifest_digest, parent_version, ${epoch('published_at')}, status, current_from_block, current_to_block FROM model_version WHERE chain_id = ${d.chainId}`,
  );
  for (const v of versions) {
    const onChain = await read(c.ModelRegistry, modelRegistryAbi, 'getVersion', [BigInt(v.id), v.version]);
    eq(`version ${v.id}/${v.version} digest`, v.manifest_digest, onChain.manifestDigest);
    eq(`version ${v.id}/${v.version} parent`, v.parent_version, onChain.parentVersion);
    eq(`version ${v.id}/${v.version} publishedAt`, v.published_at, onChain.publishedAt);
    eq(`version ${v.id}/${v.version} status`, v.status, STATUS[onChain.status]);
    const current = models.find((m) => m.id === v.id)?.current_version === v.version;
    eq(`version ${v.id}/${v.version} is current (from/to)`, v.current_from_block !== null && v.current_to_block === null, current);
  }
  for (const a of await rows(`SELECT model_id::text AS id, account, allowed FROM model_allowlist WHERE chain_id = ${d.chainId}`)) {
    eq(`allowlist ${a.id}/${a.account}`, a.allowed, await read(c.ModelRegistry, modelRegistryAbi, 'isAllowlisted', [BigInt(a.id), a.account]));
  }
  return diffs;
}
