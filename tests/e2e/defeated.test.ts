import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, ProposalPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { DEV } from './support/chain.ts';

describe('GOV: a proposal that misses quorum stops there', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('GOV-003: a defeated proposal (quorum not reached) shows Defeated and cannot be queued', async () => {
    const { gov } = stack;
    const description = `# GOV-003 nobody votes ${Date.now()}`;
    const actions = [gov.registry.register(`gov003-${Date.now()}`)];
    const id = await gov.propose(DEV[0], actions, description);
    await gov.advance(stack.votingDelay + stack.votingPeriod + 2);
    await stack.waitForIndex();

    const s = await openSession(browser.current, stack.baseUrl);
    const page = new ProposalPage(s.page);
    await page.open(id);
    expect(await page.state().innerText()).toBe('Defeated');
    await new AppShell(s.page).connectDevAccount(1);
    await page.waitForLiveState('Defeated');
    expect(await page.queueButton().count()).toBe(0);
    expect(await s.page.getByTestId('defeated-note').innerText()).toContain('cannot be queued');
    expect(await s.page.getByTestId('lifecycle').innerText()).toContain('Defeated');
    await s.shot('GOV-003-defeated');
    // And the governor refuses it too.
    await expect(gov.queueAndExecute(DEV[1], actions, description, DEV[0])).rejects.toThrow();
    await s.context.close();
  });
});
