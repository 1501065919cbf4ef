import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { ModelPage, ModelsPage, ProposalPage, ProposalsPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';

describe('READ: anyone can read without a wallet', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('READ-001: with JavaScript disabled, models, a model, proposals, a proposal and delegates render from the index', async () => {
    const s = await openSession(browser.current, stack.baseUrl, { javaScriptEnabled: false });
    const models = new ModelsPage(s.page);
    await models.open();
    expect(await models.card('tiny-lm').isVisible()).toBe(true);
    await s.shot('READ-001-models-nojs');

    const model = new ModelPage(s.page);
    await model.open('tiny-lm');
    expect(await model.version(1).isVisible()).toBe(true);
    expect(await s.page.getByRole('heading', { name: 'Fetch it' }).isVisible()).toBe(true);
    expect(await s.page.getByText('model.safetensors').first().isVisible()).toBe(true);
    await s.shot('READ-001-model-nojs');

    const list = new ProposalsPage(s.page);
    await list.open();
    expect(await list.rows().count()).toBeGreaterThan(0);
    // The filter form works as a plain GET form.
    await s.page.getByRole('combobox', { name: 'State' }).selectOption('Executed');
    await s.page.getByRole('button', { name: 'Apply' }).click();
    await s.page.waitForURL(/state=Executed/);
    expect(await list.rows().count()).toBeGreaterThan(0);
    for (const badge of await s.page.getByTestId('proposal-state').allInnerTexts()) expect(badge).toBe('Executed');
    await s.shot('READ-001-proposals-nojs');

    await list.rows().first().getByRole('link').click();
    const proposal = new ProposalPage(s.page);
    expect(await proposal.state().innerText()).toBe('Executed');
    expect(await s.page.getByTestId('actions').innerText()).toMatch(/Register a new model “tiny-lm”|Publish/);
    expect(await s.page.getByTestId('tally').isVisible()).toBe(true);
    expect(await s.page.getByTestId('lifecycle').innerText()).toContain('Executed');
    await s.shot('READ-001-proposal-nojs');

    await s.page.goto('/delegates');
    expect(await s.page.getByTestId('delegates').getByRole('row').count()).toBeGreaterThan(1);
    await s.context.close();
  });

  it('READ-002: on a phone-width screen, the proposal list and navigation stay usable', async () => {
    const s = await openSession(browser.current, stack.baseUrl, { viewport: { width: 390, height: 844 } });
    await s.page.goto('/proposals');
    expect(await s.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Delegates' }).isVisible()).toBe(true);
    const overflow = await s.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await s.shot('READ-002-proposals-phone');
    if (s.consoleErrors.length) console.warn('READ-002 console errors:\n' + s.consoleErrors.join('\n'));
    await s.context.close();
  });
});
