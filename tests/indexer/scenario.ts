// Real governance activity on a local chain, through the deployed contracts: delegation, transfers,
// proposals that register/publish/deprecate/allowlist through the timelock, votes with reasons and
// params, queue/execute, a late-quorum extension, guardian revoke and cancel, a defeated proposal.
import { createPublicClient, createWalletClient, encodeFunctionData, http, keccak256, toBytes, type Address, type Hex, type PublicClient } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi } from '../../lib/contracts/generated.ts';
import type { Deployment } from '../../lib/contracts/deployment.ts';
import { DEV_ACCOUNTS, GUARDIAN_ACCOUNT, advanceTime, rpc } from '../helpers/anvil.ts';

type Ten<T> = [T, T, T, T, T, T, T, T, T, T];
/** anvil's ten dev accounts (DEV_ACCOUNTS has exactly ten) */
export const acct = DEV_ACCOUNTS.map((a) => a.address as Address) as Ten<Address>;

export interface Gov {
  pub: PublicClient;
  deployment: Deployment;
  rpcUrl: string;
  send(from: Address, address: Address, abi: any, functionName: string, args: unknown[]): Promise<Hex>;
  propose(
    from: Address,
    calls: { target: Address; data: Hex }[],
    description: string,
  ): Promise<{ id: bigint; calls: { target: Address; data: Hex }[]; description: string }>;
  queue(p: { calls: { target: Address; data: Hex }[]; description: string }): Promise<void>;
  execute(p: { calls: { target: Address; data: Hex }[]; description: string }): Promise<void>;
  registryCall(functionName: string, args: unknown[]): { target: Address; data: Hex };
}

export function gov(rpcUrl: string, deployment: Deployment): Gov {
  const pub = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const wallet = createWalletClient({ transport: http(rpcUrl) });
  const c = deployment.contracts;
  const send = async (from: Address, address: Address, abi: any, functionName: string, args: unknown[]) => {
    // Explicit gas: estimates taken in the same second as the previous block under-count ERC20Votes'
    // timestamp-keyed checkpoint writes (update-in-place vs a new slot) and the tx runs out of gas.
    const hash = await wallet.writeContract({ account: from, chain: null, address, abi, functionName, args, gas: 3_000_000n } as any);
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== 'success') {
      let reason = '';
      try {
        await pub.simulateContract({ account: from, address, abi, functionName, args, blockNumber: receipt.blockNumber - 1n } as any);
      } catch (err) {
        reason = (err as Error).message.split('\n').slice(0, 3).join(' ');
      }
      throw new Error(`${functionName} reverted in block ${receipt.blockNumber} (gas used ${receipt.gasUsed}): ${reason}`);
    }
    return hash;
  };
  const ops = (p: { calls: { target: Address; data: Hex }[]; description: string }) =>
    [p.calls.map((x) => x.target), p.calls.map(() => 0n), p.calls.map((x) => x.data), keccak256(toBytes(p.description))] as const;
  return {
    pub,
    deployment,
    rpcUrl,
    send,
    registryCall: (functionName, args) => ({ target: c.ModelRegistry, data: encodeFunctionData({ abi: modelRegistryAbi, functionName, args } as any) }),
    async propose(from, calls, description) {
      await send(from, c.ModelGovernor, modelGovernorAbi, 'propose', [calls.map((x) => x.target), calls.map(() => 0n), calls.map((x) => x.data), description]);
      const [targets, values, datas, descHash] = ops({ calls, description });
      const id = (await pub.readContract({
        address: c.ModelGovernor,
        abi: modelGovernorAbi,
        functionName: 'hashProposal',
        args: [targets, values, datas, descHash],
      })) as bigint;
      return { id, calls, description };
    },
    async queue(p) {
      await send(acct[0], c.ModelGovernor, modelGovernorAbi, 'queue', [...ops(p)]);
    },
    async execute(p) {
      await send(acct[0], c.ModelGovernor, modelGovernorAbi, 'execute', [...ops(p)]);
    },
  };
}

const digest = (s: string) => keccak256(toBytes(s));

/** Delegation and transfers: every holder delegates (some to others), one re-delegates. */
export async function delegations(g: Gov) {
  const t = g.deployment.contracts.ModelToken;
  await g.send(acct[0], t, modelTokenAbi, 'delegate', [acct[0]]);
  await g.send(acct[1], t, modelTokenAbi, 'delegate', [acct[1]]);
  await g.send(acct[2], t, modelTokenAbi, 'delegate', [acct[0]]);
  await g.send(acct[3], t, modelTokenAbi, 'delegate', [acct[3]]);
  await g.send(acct[4], t, modelTokenAbi, 'delegate', [acct[1]]);
  await g.send(acct[0], t, modelTokenAbi, 'transfer', [acct[5], 1_000n * 10n ** 18n]);
  await g.send(acct[5], t, modelTokenAbi, 'delegate', [acct[3]]);
  await g.send(acct[4], t, modelTokenAbi, 'delegate', [acct[4]]);
  await advanceTime(g.rpcUrl, 2);
}

/** Proposal lifecycle through the timelock. Returns the ids it created. */
export async function governance(g: Gov, tag = 'a') {
  const gv = g.deployment.contracts.ModelGovernor;
  const period = 300;
  const delay = 1;
  const timelockDelay = 60;
  const vote = (from: Address, id: bigint, support: number, reason?: string, params?: Hex) =>
    params
      ? g.send(from, gv, modelGovernorAbi, 'castVoteWithReasonAndParams', [id, support, reason ?? '', params])
      : reason
        ? g.send(from, gv, modelGovernorAbi, 'castVoteWithReason', [id, support, reason])
        : g.send(from, gv, modelGovernorAbi, 'castVote', [id, support]);

  const count = Number(await g.pub.readContract({ address: g.deployment.contracts.ModelRegistry, abi: modelRegistryAbi, functionName: 'modelCount' }));
  const m1 = BigInt(count + 1);
  const m2 = BigInt(count + 2);
  // A: register two models, publish a version, allowlist an account
  const a = await g.propose(
    acct[0],
    [
      g.registryCall('registerModel', [`tiny-lm-${tag}`, { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]),
      g.registryCall('publishVersion', [m1, digest(`${tag}-v1`), 0]),
      g.registryCall('registerModel', [`gated-${tag}`, { kind: 2, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]),
      g.registryCall('setAllowlist', [m2, [acct[6], acct[7]], true]),
    ],
    `# Register tiny-lm ${tag}\nFirst version and a gated model.`,
  );
  await advanceTime(g.rpcUrl, delay + 1);
  await vote(acct[0], a.id, 1, 'ship it');
  await vote(acct[1], a.id, 0, 'not yet');
  await vote(acct[3], a.id, 2, 'abstaining', '0x1234');
  await advanceTime(g.rpcUrl, period + 1);
  await g.queue(a);
  await advanceTime(g.rpcUrl, timelockDelay + 1);
  await g.execute(a);

  // B: publish v2, roll back to v1, deprecate v2, token-gate the first model, remove one allowlisted account
  const b = await g.propose(
    acct[1],
    [
      g.registryCall('publishVersion', [m1, digest(`${tag}-v2`), 1]),
      g.registryCall('setCurrentVersion', [m1, 1]),
      g.registryCall('deprecateVersion', [m1, 2]),
      g.registryCall('publishVersion', [m1, digest(`${tag}-v3`), 1]),
      g.registryCall('setAccessRule', [m1, { kind: 1, token: g.deployment.contracts.ModelToken, minBalance: 10n ** 18n }]),
      g.registryCall('setAllowlist', [m2, [acct[7]], false]),
    ],
    `Update tiny-lm ${tag}`,
  );
  await advanceTime(g.rpcUrl, delay + 1);
  await vote(acct[1], b.id, 0, 'against, but not enough for quorum');
  // late quorum: the deciding vote lands inside the extension window
  await advanceTime(g.rpcUrl, period - 20);
  await vote(acct[0], b.id, 1, 'late but decisive');
  await advanceTime(g.rpcUrl, period + 60);
  await g.queue(b);
  await advanceTime(g.rpcUrl, timelockDelay + 1);
  await g.execute(b);

  // guardian revokes the current version (v3) at once
  await g.send(GUARDIAN_ACCOUNT.address as Address, g.deployment.contracts.ModelRegistry, modelRegistryAbi, 'revokeVersion', [m1, 3]);

  // C: canceled by the proposal guardian; D: defeated
  const c = await g.propose(acct[0], [g.registryCall('setCurrentVersion', [m1, 1])], `Cancel me ${tag}`);
  await g.send(GUARDIAN_ACCOUNT.address as Address, gv, modelGovernorAbi, 'cancel', [
    c.calls.map((x) => x.target),
    [0n],
    c.calls.map((x) => x.data),
    keccak256(toBytes(c.description)),
  ]);
  const d = await g.propose(acct[3], [g.registryCall('setCurrentVersion', [m1, 1])], `Defeat me ${tag}`);
  await advanceTime(g.rpcUrl, delay + 1);
  await vote(acct[1], d.id, 0, 'no');
  await advanceTime(g.rpcUrl, period + 1);
  await rpc(g.rpcUrl, 'evm_mine');
  return [a.id, b.id, c.id, d.id];
}
