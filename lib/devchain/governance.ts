// Drives real governance on a local chain: propose → vote → (time) → queue → (time) → execute.
// Used by the demo seed, tests and benchmarks; every step is an ordinary transaction.
import {
  createWalletClient,
  http,
  keccak256,
  toHex,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  type WriteContractParameters,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { contractCall, type WriteFunctionArgs, type WriteFunctionName } from '../contracts/call.ts';
import { modelGovernorAbi, modelTokenAbi } from '../contracts/generated.ts';
import type { Deployment } from '../contracts/deployment.ts';
import { chainFor, createChainClient } from '../chain/client.ts';
import { advanceTime } from './anvil.ts';

export interface Action {
  target: Address;
  value?: bigint;
  data: Hex;
}

export enum Support {
  Against = 0,
  For = 1,
  Abstain = 2,
}

export class Governance {
  readonly client: PublicClient;
  constructor(
    readonly rpcUrl: string,
    readonly deployment: Deployment,
  ) {
    this.client = createChainClient(rpcUrl, deployment.chainId);
  }

  wallet(privateKey: Hex): WalletClient & { account: ReturnType<typeof privateKeyToAccount> } {
    return createWalletClient({
      account: privateKeyToAccount(privateKey),
      chain: chainFor(this.deployment.chainId, this.rpcUrl),
      transport: http(this.rpcUrl),
    }) as never;
  }

  private async send<const abi extends Abi, functionName extends WriteFunctionName<abi>>(
    privateKey: Hex,
    address: Address,
    abi: abi,
    functionName: functionName,
    args: WriteFunctionArgs<abi, functionName>,
    value?: bigint,
  ): Promise<Hex> {
    const w = this.wallet(privateKey);
    // Typed by this method's signature; viem's writeContract cannot follow a generic abi.
    const hash = await w.writeContract({ address, abi, functionName, args, value, account: w.account, chain: w.chain } as WriteContractParameters);
    const receipt = await this.client.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`${functionName} reverted (tx ${hash})`);
    return hash;
  }

  async delegate(privateKey: Hex, to?: Address): Promise<Hex> {
    const self = privateKeyToAccount(privateKey).address;
    const tx = await this.send(privateKey, this.deployment.contracts.ModelToken, modelTokenAbi, 'delegate', [to ?? self]);
    // ERC-6372 timestamp clock: propose() reads the proposer's votes at clock() - 1, and anvil may
    // mine the next blocks in the same second: move one second on so the delegation counts at once.
    await this.client.request({ method: 'evm_increaseTime' as never, params: [1] as never });
    await this.client.request({ method: 'evm_mine' as never, params: [] as never });
    return tx;
  }

  /** Proposes and returns the proposal id; the description ends with `#proposer=` (front-running guard). */
  async propose(privateKey: Hex, actions: Action[], description: string): Promise<{ proposalId: bigint; description: string; tx: Hex }> {
    const proposer = privateKeyToAccount(privateKey).address;
    const full = description.includes('#proposer=') ? description : `${description}\n\n#proposer=${proposer}`;
    const args = [actions.map((a) => a.target), actions.map((a) => a.value ?? 0n), actions.map((a) => a.data), full] as const;
    const proposalId = (await this.client.readContract({
      address: this.deployment.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'hashProposal',
      args: [args[0], args[1], args[2], keccak256(toHex(full))],
    })) as bigint;
    const tx = await this.send(privateKey, this.deployment.contracts.ModelGovernor, modelGovernorAbi, 'propose', args);
    return { proposalId, description: full, tx };
  }

  async vote(privateKey: Hex, proposalId: bigint, support: Support, reason?: string): Promise<Hex> {
    return reason
      ? this.send(privateKey, this.deployment.contracts.ModelGovernor, modelGovernorAbi, 'castVoteWithReason', [proposalId, support, reason])
      : this.send(privateKey, this.deployment.contracts.ModelGovernor, modelGovernorAbi, 'castVote', [proposalId, support]);
  }

  async state(proposalId: bigint): Promise<number> {
    return Number(
      await this.client.readContract({ address: this.deployment.contracts.ModelGovernor, abi: modelGovernorAbi, functionName: 'state', args: [proposalId] }),
    );
  }

  /** Moves the chain's clock past the proposal's voting start (snapshot). */
  async waitForVotingStart(proposalId: bigint): Promise<void> {
    const snapshot = (await this.client.readContract({
      address: this.deployment.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'proposalSnapshot',
      args: [proposalId],
    })) as bigint;
    await this.advanceTo(snapshot + 1n);
  }

  async waitForVotingEnd(proposalId: bigint): Promise<void> {
    const deadline = (await this.client.readContract({
      address: this.deployment.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'proposalDeadline',
      args: [proposalId],
    })) as bigint;
    await this.advanceTo(deadline + 1n);
  }

  async queue(privateKey: Hex, actions: Action[], description: string): Promise<Hex> {
    return this.send(privateKey, this.deployment.contracts.ModelGovernor, modelGovernorAbi, 'queue', [
      actions.map((a) => a.target),
      actions.map((a) => a.value ?? 0n),
      actions.map((a) => a.data),
      keccak256(toHex(description)),
    ]);
  }

  async waitForEta(proposalId: bigint): Promise<void> {
    const eta = (await this.client.readContract({
      address: this.deployment.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'proposalEta',
      args: [proposalId],
    })) as bigint;
    await this.advanceTo(eta);
  }

  async execute(privateKey: Hex, actions: Action[], description: string): Promise<Hex> {
    return this.send(privateKey, this.deployment.contracts.ModelGovernor, modelGovernorAbi, 'execute', [
      actions.map((a) => a.target),
      actions.map((a) => a.value ?? 0n),
      actions.map((a) => a.data),
      keccak256(toHex(description)),
    ]);
  }

  private async advanceTo(timestamp: bigint): Promise<void> {
    const block = await this.client.getBlock({ blockTag: 'latest' });
    const delta = Number(timestamp - block.timestamp);
    await advanceTime(this.rpcUrl, Math.max(delta, 1));
  }

  /**
   * The whole path for a proposal that should pass: propose, every voter votes, time advanced,
   * queue, timelock delay advanced, execute.
   */
  async passProposal(opts: {
    proposer: Hex;
    actions: Action[];
    description: string;
    votes: { key: Hex; support: Support; reason?: string }[];
  }): Promise<{ proposalId: bigint; description: string; executeTx: Hex }> {
    const { proposalId, description } = await this.propose(opts.proposer, opts.actions, opts.description);
    await this.waitForVotingStart(proposalId);
    for (const v of opts.votes) await this.vote(v.key, proposalId, v.support, v.reason);
    await this.waitForVotingEnd(proposalId);
    await this.queue(opts.proposer, opts.actions, description);
    await this.waitForEta(proposalId);
    const executeTx = await this.execute(opts.proposer, opts.actions, description);
    return { proposalId, description, executeTx };
  }
}

/** A proposal action calling a generated ABI's write function (typed: a wrong name or argument fails tsc). */
export function call<const abi extends Abi, functionName extends WriteFunctionName<abi>>(
  target: Address,
  abi: abi,
  functionName: functionName,
  args: WriteFunctionArgs<abi, functionName>,
  value?: bigint,
): Action {
  const c = contractCall(target, abi, functionName, args, value ?? 0n);
  return { target, value, data: c.calldata };
}
