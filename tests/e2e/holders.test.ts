import { describe, expect, it } from 'vitest';
import { zeroAddress } from 'viem';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, ProposalPage, eventually } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { DEV } from './support/chain.ts';
import { modelTokenAbi } from '../../lib/contracts/generated.ts';
import { formatTokens } from '../../lib/web/format.ts';

// #16 for token holders: delegate statements and pages, and a home page that says what needs you.
describe('HOLD: holders find their delegate and what waits for their vote', () => {
  const stack = useStack();
  const browser = useBrowser();

  it("HOLD-001: a delegate publishes a signed statement; a holder reads the delegate's page and delegates to them", async () => {
    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    const alice = DEV[1].toLowerCase();
    // Alice writes her statement on her own page; her wallet signs it (EIP-712, no gas).
    await s.page.goto(`/delegates/${alice}`);
    await shell.connectDevAccount(1);
    await s.page.getByRole('button', { name: /(Write|Edit) your statement/ }).click();
    const form = s.page.getByTestId('statement-form');
    await form.getByRole('textbox', { name: 'Name' }).fill('Alice the reviewer');
    await form
      .getByRole('textbox', { name: 'Statement (Markdown)' })
      .fill('I **read every manifest diff** before voting.\n\n<script>window.__pwned = 1</script>[x](javascript:window.__pwned=2)');
    await form.getByRole('textbox', { name: /^Links/ }).fill('https://alice.example/reviews');
    await form.getByRole('button', { name: 'Sign and publish' }).click();
    await s.page.getByTestId('statement-name').filter({ hasText: 'Alice the reviewer' }).waitFor({ timeout: 60_000 });
    await s.shot('HOLD-001-1-statement-published');
    await shell.disconnect();

    // Dave, a holder (his delegation changes no later story's tallies), finds Alice on the delegates page.
    await s.page.goto('/delegates');
    await s.page.getByTestId('delegates').getByText('Alice the reviewer').waitFor();
    await s.page.getByRole('link', { name: alice }).first().click();
    await s.page.waitForURL(new RegExp(`/delegates/${alice}$`));
    const statement = s.page.getByTestId('delegate-statement');
    expect(await statement.locator('strong', { hasText: 'read every manifest diff' }).count()).toBe(1);
    expect(await s.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await statement.locator('a[href^="javascript:"]').count()).toBe(0);
    // her voting history shows the seeded vote with its reason
    expect(await s.page.getByTestId('delegate-votes').innerText()).toContain('Eval improves');
    const before = Number(await s.page.getByTestId('delegator-count').innerText());

    await shell.connectDevAccount(4);
    await s.page.getByRole('button', { name: `Delegate your votes to ${alice}` }).click();
    await s.page.getByTestId('delegators').getByText(DEV[4].toLowerCase()).waitFor({ timeout: 60_000 });
    await eventually(async () => Number(await s.page.getByTestId('delegator-count').innerText()) === before + 1, 'delegator count to grow');
    await s.page.getByText('your delegate').waitFor();
    await s.shot('HOLD-001-2-delegated');
    expect(s.errors).toEqual([]);
    await s.context.close();
    // Dave back to the seed's state (tokens, no delegate): Alice votes Against in GOV-001, and Dave's
    // 100,000 votes on her side would turn that story's tally
    await stack.gov.delegate(DEV[4], zeroAddress);
    expect(
      await stack.gov.pub.readContract({ address: stack.deployment.contracts.ModelToken, abi: modelTokenAbi, functionName: 'delegates', args: [DEV[4]] }),
    ).toBe(zeroAddress);
  });

  it("HOLD-002: the home page lists the open proposal the account hasn't voted on, and stops listing it after the vote", async () => {
    const { gov } = stack;
    const title = `HOLD-002 register hold002-${Date.now()}`;
    const id = await gov.propose(DEV[0], [gov.registry.register(`hold002-${Date.now()}`)], `# ${title}`);
    await gov.advance(stack.votingDelay + 1);
    await stack.waitForIndex();

    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    await s.page.goto('/');
    await s.page.getByTestId('open-proposals').getByText(title).waitFor();
    await shell.connectDevAccount(2);
    const waiting = s.page.getByTestId('unvoted-proposal').filter({ hasText: title });
    await waiting.waitFor();
    await s.shot('HOLD-002-1-waiting-for-vote');

    await waiting.getByRole('link').click();
    await s.page.waitForURL(new RegExp(`/proposals/${id}$`));
    const proposal = new ProposalPage(s.page);
    await proposal.waitForLiveState('Active');
    await proposal.vote('For');

    await s.page.goto('/');
    await s.page.getByTestId('holder-panel').waitFor();
    // the list is read live from the governor: once it has loaded, the proposal is gone from it
    await eventually(
      async () =>
        (await s.page.getByTestId('nothing-waiting').isVisible()) ||
        ((await s.page.getByTestId('unvoted-proposals').isVisible()) && (await waiting.count()) === 0),
      'the voted proposal to leave the list',
    );
    expect(await waiting.count()).toBe(0);
    await s.page.getByTestId('open-proposals').getByText(title).waitFor();
    await s.shot('HOLD-002-2-voted');
    expect(s.errors).toEqual([]);
    await s.context.close();
  });

  it("HOLD-003: the treasury page shows the timelock's token balance as the chain has it at the indexed block", async () => {
    const s = await openSession(browser.current, stack.baseUrl, { javaScriptEnabled: false });
    await stack.waitForIndex();
    await s.page.goto('/treasury');
    const block = BigInt(await s.page.getByTestId('treasury-block').innerText());
    const timelock = stack.deployment.contracts.TimelockController;
    const [tokens, eth] = await Promise.all([
      stack.gov.pub.readContract({
        address: stack.deployment.contracts.ModelToken,
        abi: modelTokenAbi,
        functionName: 'balanceOf',
        args: [timelock],
        blockNumber: block,
      }),
      stack.gov.pub.getBalance({ address: timelock, blockNumber: block }),
    ]);
    expect(await s.page.getByTestId('treasury-token').innerText()).toBe(formatTokens(tokens));
    expect(await s.page.getByTestId('treasury-eth').innerText()).toBe(formatTokens(eth));
    // the minted treasury arrived as an incoming transfer
    expect(await s.page.getByTestId('transfer-in').count()).toBeGreaterThan(0);
    await s.shot('HOLD-003-treasury');
    expect(s.errors).toEqual([]);
    await s.context.close();
  });
});
