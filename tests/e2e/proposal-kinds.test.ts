import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { DEV } from './support/chain.ts';
import { AppShell, NewProposalPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';

// The new-proposal form's other kinds (GOV-001 covers publish): what the proposer fills in is what
// the voters read on the proposal page.
describe('PROP: proposing something else than a new version', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('PROP-001: a holder proposes to register a model for token holders, with a treasury reward; voters read exactly that', async () => {
    const slug = `prop001-${Date.now().toString(36)}`;
    const s = await openSession(browser.current, stack.baseUrl);
    const form = new NewProposalPage(s.page);
    await form.open('register');
    await new AppShell(s.page).connectDevAccount(0);
    await s.page.getByRole('textbox', { name: /^Slug/ }).fill(slug);
    await s.page.getByRole('radio', { name: 'Token holders with a minimum balance' }).check();
    await s.page.getByRole('textbox', { name: 'Minimum balance' }).fill('2.5');
    await s.page.getByRole('checkbox', { name: /Also pay/ }).check();
    await s.page.getByRole('textbox', { name: 'Recipient' }).fill(DEV[2]);
    await s.page.getByRole('textbox', { name: /^Amount/ }).fill('3');
    await form.fill(`PROP-001: register ${slug}`, 'For holders only, and a thank-you to the maintainer.');
    await form.submit();

    const actions = await s.page.getByTestId('actions').innerText();
    expect(actions).toMatch(new RegExp(`Register a new model “${slug}” with access: holders of at least 2\\.5 \\w+`));
    expect(actions).toMatch(new RegExp(`Send 3 \\w+ from the treasury to ${DEV[2]}`));
    await s.shot('PROP-001-register-with-reward');
    await s.context.close();
  });

  it('PROP-002: an allowlist change with a malformed address is refused in words before any transaction', async () => {
    const s = await openSession(browser.current, stack.baseUrl);
    const form = new NewProposalPage(s.page);
    await form.open('access', 'tiny-lm');
    await new AppShell(s.page).connectDevAccount(0);
    await s.page.getByRole('checkbox', { name: /Change the access rule/ }).uncheck();
    await s.page.getByRole('textbox', { name: /^Add to the allowlist/ }).fill(`${DEV[1]}, alice.eth`);
    await form.fill('PROP-002: allow two accounts', 'One of them is not an address.');
    await s.page.getByRole('button', { name: 'Submit proposal' }).click();
    await form.problems().waitFor();
    expect(await form.problems().innerText()).toContain('Not an address: alice.eth');
    expect(s.page.url()).toMatch(/\/proposals\/new/);
    await s.context.close();
  });
});
