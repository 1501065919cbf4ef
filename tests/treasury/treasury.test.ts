import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, http, parseEther, parseUnits, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { modelTokenAbi } from '../../lib/contracts/generated.ts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { seedDemoDao, type SeedResult } from '../../lib/devchain/seed.ts';
import { Governance, Support } from '../../lib/devchain/governance.ts';
import { loadTreasury } from '../../lib/treasury/treasury.ts';
import { repoRoot } from '../../lib/repo-root.ts';
import { DEV_ACCOUNTS, chainClient, freePort, startTestChain, type TestChain } from '../helpers/anvil.ts';

// The treasury as the page shows it, against the chain: the demo DAO with its v2 proposal passed
// (it pays the maintainer 500 tokens), plus ETH and tokens sent to the timelock by members.
describe('treasury', () => {
  let chain: TestChain;
  let server: RunningServer;
  let seed: SeedResult;
  let dataDir: string;
  let otherToken: `0x${string}`;
  const [maintainer, , bob, carol, dave, eve] = DEV_ACCOUNTS;

  beforeAll(async () => {
    chain = await startTestChain();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-treasury-'));
    const env = parseEnv({ ANVIL_PORT: String(chain.port), DEPLOYMENT_FILE: chain.deploymentFile, MODELDAO_DATA_DIR: dataDir, PORT: String(await freePort()) });
    server = await startServer({ env, withNext: false, log: () => {} });
    seed = await seedDemoDao({ rpcUrl: chain.rpcUrl, deployment: chain.deployment, baseUrl: server.url });
    const gov = new Governance(chain.rpcUrl, chain.deployment);
    const p = seed.openProposal;
    await gov.vote(bob!.privateKey as Hex, p.proposalId, Support.For);
    await gov.vote(carol!.privateKey as Hex, p.proposalId, Support.For);
    await gov.waitForVotingEnd(p.proposalId);
    await gov.queue(maintainer!.privateKey as Hex, p.actions, p.description);
    await gov.waitForEta(p.proposalId);
    await gov.execute(maintainer!.privateKey as Hex, p.actions, p.description);
    // money coming in: ETH from an outsider, tokens from a member
    const timelock = chain.deployment.contracts.TimelockController;
    const wallet = (key: string) => createWalletClient({ account: privateKeyToAccount(key as Hex), transport: http(chain.rpcUrl), chain: foundry });
    const client = chainClient(chain);
    await client.waitForTransactionReceipt({ hash: await wallet(eve!.privateKey).sendTransaction({ to: timelock, value: parseEther('3') }) });
    await client.waitForTransactionReceipt({
      hash: await wallet(dave!.privateKey).writeContract({
        address: chain.deployment.contracts.ModelToken,
        abi: modelTokenAbi,
        functionName: 'transfer',
        args: [timelock, parseUnits('7', 18)],
      }),
    });
    // another ERC-20 (a second ModelToken, deployed by an outsider) sent to the timelock
    const artifact = JSON.parse(fs.readFileSync(path.join(repoRoot, 'contracts/out/ModelToken.sol/ModelToken.json'), 'utf8')) as { bytecode: { object: Hex } };
    const deployHash = await wallet(eve!.privateKey).deployContract({
      abi: modelTokenAbi,
      bytecode: artifact.bytecode.object,
      args: ['Other Coin', 'OTHER', [eve!.address], [parseUnits('1000', 18)]],
    });
    otherToken = (await client.waitForTransactionReceipt({ hash: deployHash })).contractAddress!;
    for (const amount of ['40', '2']) {
      await client.waitForTransactionReceipt({
        hash: await wallet(eve!.privateKey).writeContract({
          address: otherToken,
          abi: modelTokenAbi,
          functionName: 'transfer',
          args: [timelock, parseUnits(amount, 18)],
        }),
      });
    }
    // a transfer of the other token that does not touch the timelock is not the treasury's business
    await client.waitForTransactionReceipt({
      hash: await wallet(eve!.privateKey).writeContract({ address: otherToken, abi: modelTokenAbi, functionName: 'transfer', args: [dave!.address, 1n] }),
    });
    await server.waitForIndex();
  });

  afterAll(async () => {
    await server?.close();
    await chain?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('figures equal the balances read from the chain at the indexed block', async () => {
    const t = await loadTreasury(server.db, chainClient(chain), chain.deployment);
    expect(t.block).not.toBeNull();
    const blockNumber = BigInt(t.block!);
    const client = chainClient(chain);
    const timelock = chain.deployment.contracts.TimelockController;
    const [eth, tok] = await Promise.all([
      client.getBalance({ address: timelock, blockNumber }),
      client.readContract({ address: chain.deployment.contracts.ModelToken, abi: modelTokenAbi, functionName: 'balanceOf', args: [timelock], blockNumber }),
    ]);
    expect(BigInt(t.ethBalance)).toBe(eth);
    expect(eth).toBe(parseEther('3'));
    expect(BigInt(t.tokenBalance)).toBe(tok);
    // every token movement is listed: what came in minus what went out is the balance
    expect(BigInt(t.tokenIn) - BigInt(t.tokenOut)).toBe(tok);
    const incoming = t.transfers.find((x) => x.direction === 'in' && x.from === dave!.address.toLowerCase());
    expect(incoming?.value).toBe(parseUnits('7', 18).toString());
    expect(incoming?.proposal).toBeNull();
  });

  it("lists the demo v2 proposal's reward to the maintainer with its proposal and the model version it approved", async () => {
    const t = await loadTreasury(server.db, chainClient(chain), chain.deployment);
    const out = t.transfers.filter((x) => x.direction === 'out');
    expect(out).toHaveLength(1);
    expect(out[0]!.to).toBe(maintainer!.address.toLowerCase());
    expect(out[0]!.value).toBe(parseUnits('500', 18).toString());
    expect(out[0]!.proposal?.id).toBe(seed.openProposalId.toString());
    expect(t.rewards).toEqual([
      expect.objectContaining({
        to: maintainer!.address.toLowerCase(),
        value: parseUnits('500', 18).toString(),
        proposal: { id: seed.openProposalId.toString(), description: seed.openProposal.description },
        models: [{ slug: 'tiny-lm', version: 2 }],
      }),
    ]);
  });

  it('lists another ERC-20 the timelock received, from the indexed Transfer events, with the balance the chain has at the indexed block', async () => {
    const t = await loadTreasury(server.db, chainClient(chain), chain.deployment);
    const timelock = chain.deployment.contracts.TimelockController;
    const onChain = await chainClient(chain).readContract({
      address: otherToken,
      abi: modelTokenAbi,
      functionName: 'balanceOf',
      args: [timelock],
      blockNumber: BigInt(t.block!),
    });
    expect(t.otherTokens).toEqual([
      { address: otherToken.toLowerCase(), symbol: 'OTHER', decimals: 18, balance: onChain.toString(), received: onChain.toString(), sent: '0' },
    ]);
    expect(onChain).toBe(parseUnits('42', 18));
    const incoming = t.transfers.filter((x) => x.asset === 'erc20');
    expect(incoming.map((x) => [x.direction, x.value])).toEqual([
      ['in', parseUnits('2', 18).toString()],
      ['in', parseUnits('40', 18).toString()],
    ]);
  });
});
