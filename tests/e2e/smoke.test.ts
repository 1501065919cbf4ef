import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, ModelsPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';

describe('SMOKE: the local stack serves the app', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('SMOKE-001: the home page loads, a dev account connects and the demo model is visible with its approved version', async () => {
    const s = await openSession(browser.current, stack.baseUrl);
    const models = new ModelsPage(s.page);
    await models.open();
    await expect(models.card('tiny-lm').isVisible()).resolves.toBe(true);
    expect(await models.card('tiny-lm').getByTestId('current-version').innerText()).toMatch(/^v\d+$/);

    const shell = new AppShell(s.page);
    await shell.connectDevAccount(0);
    expect(await shell.votingPowerText()).toMatch(/^[1-9][\d,]* votes$/);
    expect(await s.page.getByTestId('wallet-account').innerText()).toContain('0xf39F');
    await s.shot('SMOKE-001-connected');
    expect(s.errors).toEqual([]);
    await s.context.close();
  });
});
