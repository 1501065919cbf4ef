import { describe, expect, it } from 'vitest';
import { toHex } from 'viem';
import { modelGovernorAbi } from '../../lib/contracts/generated.ts';
import type { RelayPolicyView } from '../../lib/relay/typed-data.ts';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, ProposalPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { DEV } from './support/chain.ts';

describe('VOTE: gasless voting through the relayer', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('VOTE-010: a holder with no ETH signs a ballot in the wallet and the relayer pays for the vote', async () => {
    const { gov } = stack;
    const governor = stack.deployment.contracts.ModelGovernor;
    const id = await gov.propose(DEV[0], [gov.registry.register(`vote010-${Date.now()}`)], '# VOTE-010 gasless vote');
    await gov.advance(stack.votingDelay + 1);
    await stack.waitForIndex();
    expect(await gov.pub.getBalance({ address: DEV[7] })).toBe(0n);
    const policy = (await (await fetch(`${stack.baseUrl}/api/relay/policy`)).json()) as RelayPolicyView;
    expect(policy.enabled).toBe(true);

    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    const proposal = new ProposalPage(s.page);
    await proposal.open(id);
    await shell.connectDevAccount(7);
    await proposal.waitForLiveState('Active');
    await proposal.vote('For', 'No ETH in this wallet: the relayer paid.');
    await s.shot('VOTE-010-voted-gasless');
    expect(await s.page.getByTestId('relay-fallback').count()).toBe(0);

    expect(await gov.pub.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'hasVoted', args: [id, DEV[7]] })).toBe(true);
    expect(await gov.pub.getBalance({ address: DEV[7] })).toBe(0n);
    const logs = await gov.pub.getContractEvents({ address: governor, abi: modelGovernorAbi, eventName: 'VoteCast', args: { voter: DEV[7] }, fromBlock: 0n });
    const cast = logs.find((l) => l.args.proposalId === id)!;
    const tx = await gov.pub.getTransaction({ hash: cast.transactionHash });
    expect(tx.from.toLowerCase()).toBe(policy.relayer!.toLowerCase());
    expect(cast.args.reason).toBe('No ETH in this wallet: the relayer paid.');
    await proposal.voters().waitFor();
    expect((await proposal.voters().innerText()).toLowerCase()).toContain('0x14dc');
    expect(s.errors).toEqual([]);
    await s.context.close();
  });

  it('VOTE-011: when the relay refuses (gas above the operator’s ceiling) the vote goes out from the wallet, with the reason shown', async () => {
    const { gov } = stack;
    const governor = stack.deployment.contracts.ModelGovernor;
    const policy = (await (await fetch(`${stack.baseUrl}/api/relay/policy`)).json()) as RelayPolicyView;
    expect(policy.enabled).toBe(true);
    const id = await gov.propose(DEV[0], [gov.registry.register(`vote011-${Date.now()}`)], '# VOTE-011 relay refuses, wallet pays');
    await gov.advance(stack.votingDelay + 1);
    await stack.waitForIndex();

    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    const proposal = new ProposalPage(s.page);
    await proposal.open(id);
    await shell.connectDevAccount(2);
    await proposal.waitForLiveState('Active');

    // A gas price spike: the chain's base fee 10× the relayer's ceiling. Put back afterwards (stories share the chain).
    const { baseFeePerGas } = await gov.pub.getBlock({ blockTag: 'latest' });
    const relayerNonce = await gov.pub.getTransactionCount({ address: policy.relayer! });
    const spike = BigInt(policy.maxFeePerGasWei) * 10n;
    await gov.pub.request({ method: 'anvil_setNextBlockBaseFeePerGas' as never, params: [toHex(spike)] as never });
    await gov.mine();
    try {
      await proposal.vote('Against', 'The relay said no; my wallet paid.');
    } finally {
      await gov.pub.request({ method: 'anvil_setNextBlockBaseFeePerGas' as never, params: [toHex(baseFeePerGas ?? 1_000_000_000n)] as never });
      await gov.mine();
    }
    const notice = s.page.getByTestId('relay-fallback');
    expect(await notice.innerText()).toMatch(
      /Gasless submission is not available \(gas costs \d+ wei now, above the relayer.s ceiling of \d+ wei\)\. Sending it from your wallet instead/,
    );
    await s.shot('VOTE-011-relay-refused-wallet-voted');

    // counted on chain, sent and paid by the member's own account; the relayer sent nothing
    expect(await gov.pub.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'hasVoted', args: [id, DEV[2]] })).toBe(true);
    const logs = await gov.pub.getContractEvents({ address: governor, abi: modelGovernorAbi, eventName: 'VoteCast', args: { voter: DEV[2] }, fromBlock: 0n });
    const cast = logs.find((l) => l.args.proposalId === id)!;
    expect(cast.args.support).toBe(0);
    expect(cast.args.reason).toBe('The relay said no; my wallet paid.');
    const tx = await gov.pub.getTransaction({ hash: cast.transactionHash });
    expect(tx.from.toLowerCase()).toBe(DEV[2].toLowerCase());
    expect(await gov.pub.getTransactionCount({ address: policy.relayer! })).toBe(relayerNonce);
    await proposal.voters().waitFor();
    expect((await proposal.voters().innerText()).toLowerCase()).toContain(DEV[2].slice(0, 6).toLowerCase());
    expect(s.errors).toEqual([]);
    await s.context.close();
  });
});
