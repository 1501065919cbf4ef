import { createPublicClient, createWalletClient, encodeFunctionData, http, keccak256, toBytes, type Address, type Hex } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi, timelockControllerAbi } from '../../../lib/contracts/generated.ts';
import type { Deployment } from '../../../lib/contracts/deployment.ts';
import { chainFor } from '../../../lib/chain/client.ts';

// Drives governance on a local anvil through its unlocked dev accounts, for setting up e2e scenarios
// (a proposal that will be defeated, a model to revoke…) faster than through the UI.

export const DEV = {
  0: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  1: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  2: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  3: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  4: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
  /** seeded with tokens and voting power but no ETH (votes through the relayer) */
  7: '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955',
  9: '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720',
} as const satisfies Record<number, Address>;

export type Action = { target: Address; value?: bigint; data: Hex };

export function governance(rpcUrl: string, deployment: Deployment) {
  const chain = chainFor(deployment.chainId, rpcUrl);
  // cacheTime 0: viem otherwise answers getBlockNumber from a cache up to 4 s old, which can predate
  // the block a story just made (waitForIndex would then open a page before that block is indexed).
  // polling 50 ms: a receipt wait ends as the block is mined, not at viem's 4 s tick
  const pub = createPublicClient({ chain, transport: http(rpcUrl), cacheTime: 0, pollingInterval: 50 });
  const wallet = (account: Address) => createWalletClient({ chain, transport: http(rpcUrl), account });
  const c = deployment.contracts;

  async function send(account: Address, to: Address, data: Hex, value = 0n, gas?: bigint) {
    const hash = await wallet(account).sendTransaction({ to, data, value, chain, gas });
    const r = await pub.waitForTransactionReceipt({ hash });
    if (r.status !== 'success') throw new Error(`tx ${hash} reverted`);
    return r;
  }
  async function rpc(method: string, params: unknown[] = []) {
    return pub.request({ method: method as never, params: params as never });
  }

  return {
    pub,
    async delegate(from: Address, to: Address = from) {
      // a fixed gas limit: estimated in the last block's second, a delegation may only update its
      // checkpoints in place, but mined a second later it pushes new ones (out of gas → revert)
      await send(from, c.ModelToken, encodeFunctionData({ abi: modelTokenAbi, functionName: 'delegate', args: [to] }), 0n, 300_000n);
    },
    async advance(seconds: number) {
      await rpc('evm_increaseTime', [seconds]);
      await rpc('evm_mine');
    },
    async mine() {
      await rpc('evm_mine');
    },
    async propose(from: Address, actions: Action[], description: string): Promise<bigint> {
      const desc = `${description}\n\n#proposer=${from}`;
      const args = [actions.map((a) => a.target), actions.map((a) => a.value ?? 0n), actions.map((a) => a.data), desc] as const;
      await send(from, c.ModelGovernor, encodeFunctionData({ abi: modelGovernorAbi, functionName: 'propose', args: [...args] as never }));
      return pub.readContract({
        address: c.ModelGovernor,
        abi: modelGovernorAbi,
        functionName: 'hashProposal',
        args: [args[0] as Address[], args[1] as bigint[], args[2] as Hex[], keccak256(toBytes(desc))],
      }) as Promise<bigint>;
    },
    async vote(from: Address, id: bigint, support: 0 | 1 | 2, reason = '') {
      await send(from, c.ModelGovernor, encodeFunctionData({ abi: modelGovernorAbi, functionName: 'castVoteWithReason', args: [id, support, reason] }));
    },
    async state(id: bigint): Promise<number> {
      return Number(await pub.readContract({ address: c.ModelGovernor, abi: modelGovernorAbi, functionName: 'state', args: [id] }));
    },
    async queueAndExecute(from: Address, actions: Action[], description: string, proposer: Address) {
      const desc = `${description}\n\n#proposer=${proposer}`;
      const args = [actions.map((a) => a.target), actions.map((a) => a.value ?? 0n), actions.map((a) => a.data), keccak256(toBytes(desc))] as const;
      await send(from, c.ModelGovernor, encodeFunctionData({ abi: modelGovernorAbi, functionName: 'queue', args: args as never }));
      const delay = Number(await pub.readContract({ address: c.TimelockController, abi: timelockControllerAbi, functionName: 'getMinDelay' }));
      await rpc('evm_increaseTime', [delay + 1]);
      await rpc('evm_mine');
      await send(from, c.ModelGovernor, encodeFunctionData({ abi: modelGovernorAbi, functionName: 'execute', args: args as never }));
    },
    registry: {
      register: (slug: string): Action => ({
        target: c.ModelRegistry,
        data: encodeFunctionData({
          abi: modelRegistryAbi,
          functionName: 'registerModel',
          args: [slug, { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }],
        }),
      }),
      publish: (modelId: bigint, digest: Hex, parent: number): Action => ({
        target: c.ModelRegistry,
        data: encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [modelId, digest, parent] }),
      }),
    },
  };
}
