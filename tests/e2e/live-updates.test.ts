import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { ProposalPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { DEV } from './support/chain.ts';

describe('LIVE: pages follow the chain without a reload', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('LIVE-001: a vote cast from another account appears on an open proposal page without reload', async () => {
    const { gov } = stack;
    const description = `# LIVE-001 watched live ${Date.now()}`;
    const id = await gov.propose(DEV[0], [gov.registry.register(`live001-${Date.now()}`)], description);
    await gov.advance(stack.votingDelay + 1);
    await stack.waitForIndex();

    const s = await openSession(browser.current, stack.baseUrl);
    const page = new ProposalPage(s.page);
    await page.open(id);
    // the feed of proposals is advertised to feed readers
    // Next writes it absolute when the app knows its public base URL (metadataBase)
    const feedHref = await s.page.locator('link[rel="alternate"][type="application/atom+xml"]').getAttribute('href');
    expect(new URL(feedHref!, s.page.url()).pathname).toBe('/api/feeds/proposals.atom');
    await s.page.getByTestId('live-updates').and(s.page.locator('[data-live="on"]')).waitFor({ timeout: 30_000 });
    expect(await s.page.getByText('Nobody has voted yet.').count()).toBe(1);
    // a marker that a full reload would wipe
    await s.page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

    await gov.vote(DEV[2], id, 1, 'seen live');
    await s.page.getByTestId('voters').getByText('seen live').waitFor({ timeout: 20_000 });
    expect(await s.page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    expect(await s.page.getByRole('heading', { name: /Voters \(1\)/ }).count()).toBe(1);
    await s.shot('LIVE-001-vote-live');
    await s.context.close();
  });
});
