// Test kit for the relayer (tests/relay, bench:relay): a real anvil DAO with `voters` fresh holders
// that own tokens and voting power but NO ETH (their delegations were signed by them and submitted
// by the deployer with delegateBySig), and one open proposal.
import { createWalletClient, http, keccak256, parseUnits, toHex, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { modelGovernorAbi, modelTokenAbi } from '../../lib/contracts/generated.ts';
import { chainFor } from '../../lib/chain/client.ts';
import { Governance, call } from '../../lib/devchain/governance.ts';
import {
  domainFromTuple,
  signBallot,
  signDelegation,
  type Eip712Domain,
  type RelayDelegateBody,
  type RelayStatus,
  type RelayVoteBody,
} from '../../lib/relay/typed-data.ts';
import { advanceTime, chainClient, DEV_ACCOUNTS, rpc, startTestChain, type TestChain } from './anvil.ts';

export interface RelayDao {
  chain: TestChain;
  client: PublicClient;
  gov: Governance;
  proposalId: bigint;
  voters: PrivateKeyAccount[];
  governorDomain: Eip712Domain;
  tokenDomain: Eip712Domain;
  /** A ballot signed by `voter` with its current governor nonce (or `nonce`). */
  ballot(
    voter: PrivateKeyAccount,
    o?: { support?: 0 | 1 | 2; reason?: string; nonce?: bigint; proposalId?: bigint; signer?: PrivateKeyAccount },
  ): Promise<RelayVoteBody>;
  /** A delegation signed by `delegator` with its current token nonce. */
  delegation(delegator: PrivateKeyAccount, delegatee: Address, o?: { expiry?: bigint; nonce?: bigint }): Promise<RelayDelegateBody>;
  /** The relayer's transaction count on chain (what it has really sent and got mined). */
  nonceOf(address: Address): Promise<number>;
}

/** Deterministic fresh keys (not anvil's funded accounts): holders with no ETH. */
export function voterKey(i: number): Hex {
  return keccak256(toHex(`modeldao relay test voter ${i}`));
}

export async function startRelayDao(opts: { voters: number; chain?: TestChain }): Promise<RelayDao> {
  // A week of voting: anvil's clock follows the wall clock, and a loaded machine takes minutes.
  const chain = opts.chain ?? (await startTestChain({ env: { VOTING_PERIOD: String(7 * 86400) } }));
  const client = chainClient(chain);
  const gov = new Governance(chain.rpcUrl, chain.deployment);
  const { ModelToken, ModelGovernor } = chain.deployment.contracts;
  const funder = DEV_ACCOUNTS[0];
  const wallet = createWalletClient({
    account: privateKeyToAccount(funder.privateKey),
    chain: chainFor(chain.deployment.chainId, chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
  await gov.delegate(funder.privateKey);

  const voters = Array.from({ length: opts.voters }, (_, i) => privateKeyToAccount(voterKey(i)));
  const [tokenDomain, governorDomain] = await Promise.all([
    client.readContract({ address: ModelToken, abi: modelTokenAbi, functionName: 'eip712Domain' }).then(domainFromTuple),
    client.readContract({ address: ModelGovernor, abi: modelGovernorAbi, functionName: 'eip712Domain' }).then(domainFromTuple),
  ]);
  // Tokens, then each holder's own signed delegation (they have no ETH), sent by the funder with explicit nonces.
  let nonce = await client.getTransactionCount({ address: funder.address, blockTag: 'pending' });
  let last: Hex | undefined;
  for (const v of voters) {
    last = await wallet.writeContract({
      address: ModelToken,
      abi: modelTokenAbi,
      functionName: 'transfer',
      args: [v.address, parseUnits('10', 18)],
      nonce: nonce++,
      gas: 100_000n,
    });
  }
  const expiry = BigInt(Math.floor(Date.now() / 1000) + 365 * 86400);
  for (const v of voters) {
    const body = await signDelegation((t) => v.signTypedData(t as never), tokenDomain, v.address, { delegatee: v.address, nonce: 0n, expiry });
    const sig = body.signature;
    const r = `0x${sig.slice(2, 66)}` as Hex;
    const s = `0x${sig.slice(66, 130)}` as Hex;
    const vv = parseInt(sig.slice(130, 132), 16);
    last = await wallet.writeContract({
      address: ModelToken,
      abi: modelTokenAbi,
      functionName: 'delegateBySig',
      args: [v.address, 0n, expiry, vv, r, s],
      nonce: nonce++,
      gas: 200_000n,
    });
  }
  if (last) {
    const receipt = await client.waitForTransactionReceipt({ hash: last });
    if (receipt.status !== 'success') throw new Error('setting up the voters failed');
  }
  await advanceTime(chain.rpcUrl, 1);
  const { proposalId } = await gov.propose(
    funder.privateKey,
    [call(ModelToken, modelTokenAbi, 'transfer', [funder.address, 1n])],
    `# Relay test proposal ${Date.now()}\n\nPays one wei of token to the funder.`,
  );
  await gov.waitForVotingStart(proposalId);

  const dao: RelayDao = {
    chain,
    client,
    gov,
    proposalId,
    voters,
    governorDomain,
    tokenDomain,
    async ballot(voter, o = {}) {
      const n = o.nonce ?? (await client.readContract({ address: ModelGovernor, abi: modelGovernorAbi, functionName: 'nonces', args: [voter.address] }));
      const signer = o.signer ?? voter;
      return signBallot((t) => signer.signTypedData(t as never), governorDomain, {
        proposalId: o.proposalId ?? proposalId,
        support: o.support ?? 1,
        voter: voter.address,
        nonce: n,
        reason: o.reason,
      });
    },
    async delegation(delegator, delegatee, o = {}) {
      const n = o.nonce ?? (await client.readContract({ address: ModelToken, abi: modelTokenAbi, functionName: 'nonces', args: [delegator.address] }));
      const block = await client.getBlock({ blockTag: 'latest' });
      return signDelegation((t) => delegator.signTypedData(t as never), tokenDomain, delegator.address, {
        delegatee,
        nonce: n,
        expiry: o.expiry ?? block.timestamp + 3600n,
      });
    },
    nonceOf: (address) => client.getTransactionCount({ address, blockTag: 'latest' }),
  };
  return dao;
}

/** Polls GET /api/relay/{id} until the request leaves `submitted` (mined, reverted or failed). */
export async function waitForRelay(baseUrl: string, id: string, timeoutMs = 60_000): Promise<RelayStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${baseUrl}/api/relay/${id}`);
    const s = (await res.json()) as RelayStatus;
    if (res.ok && s.status !== 'submitted') return s;
    if (Date.now() > deadline) throw new Error(`relayed request ${id} still ${s.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function postRelay(
  baseUrl: string,
  kind: 'vote' | 'delegate',
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> & { error?: { code: string; message: string } } }> {
  const res = await fetch(`${baseUrl}/api/relay/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as never };
}

export async function setBalance(rpcUrl: string, address: Address, wei: bigint): Promise<void> {
  await rpc(rpcUrl, 'anvil_setBalance', [address, toHex(wei)]);
}
