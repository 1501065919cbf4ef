import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, DelegatesPage, ProposalPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { DEV } from './support/chain.ts';

describe('VOTE: delegation comes before voting', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('VOTE-002: holder without delegation is told to delegate first, delegates, then votes', async () => {
    const { gov } = stack;
    // A proposal whose snapshot predates the holder's delegation.
    const before = await gov.propose(DEV[0], [gov.registry.register(`vote002-a-${Date.now()}`)], '# VOTE-002 earlier proposal');
    await gov.advance(stack.votingDelay + 1);
    await stack.waitForIndex();

    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    const proposal = new ProposalPage(s.page);
    await proposal.open(before);
    await shell.connectDevAccount(4);
    expect(await shell.votingPowerText()).toBe('0 votes');
    await proposal.delegateFirstNotice().waitFor();
    expect(await proposal.delegateFirstNotice().innerText()).toContain('You have tokens but no voting power — delegate first');
    await s.shot('VOTE-002-1-told-to-delegate');

    await proposal
      .delegateFirstNotice()
      .getByRole('link', { name: /Delegate/ })
      .click();
    const delegates = new DelegatesPage(s.page);
    await delegates.delegateFirstNotice().waitFor();
    await delegates.delegateToMyself();
    await s.page
      .getByTestId('my-voting-power')
      .filter({ hasText: /^[1-9][\d,]* votes$/ })
      .waitFor();
    await s.shot('VOTE-002-2-delegated');

    // The next proposal counts the delegated votes.
    const after = await gov.propose(DEV[0], [gov.registry.register(`vote002-b-${Date.now()}`)], '# VOTE-002 next proposal');
    await gov.advance(stack.votingDelay + 1);
    await stack.waitForIndex();
    await proposal.open(after);
    await proposal.waitForLiveState('Active');
    await proposal.vote('For', 'Delegated to myself, now voting.');
    await proposal.voters().waitFor();
    expect((await proposal.voters().innerText()).toLowerCase()).toContain('0x15d3');
    await s.shot('VOTE-002-3-voted');
    expect(s.errors).toEqual([]);
    await s.context.close();
  });
});
