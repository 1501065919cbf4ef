import { describe, expect, it } from 'vitest';
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
});
