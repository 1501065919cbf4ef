import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, ModelPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { DEV } from './support/chain.ts';

describe('GUARD: the guardian can revoke, and only revoke', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('GUARD-001: the guardian revokes the current version and the model page says consumers get none', async () => {
    const { gov } = stack;
    // A model of its own, approved through governance, so other stories keep tiny-lm.
    const slug = `guarded-${Date.now().toString(36)}`;
    const count = (await gov.pub.readContract({
      address: stack.deployment.contracts.ModelRegistry,
      abi: (await import('../../lib/contracts/generated.ts')).modelRegistryAbi,
      functionName: 'modelCount',
    })) as bigint;
    const actions = [gov.registry.register(slug), gov.registry.publish(count + 1n, `0x${'ee'.repeat(32)}`, 0)];
    const description = `# Register ${slug}`;
    const id = await gov.propose(DEV[0], actions, description);
    await gov.advance(stack.votingDelay + 1);
    for (const a of [DEV[0], DEV[1], DEV[2]]) await gov.vote(a, id, 1);
    await gov.advance(stack.votingPeriod + 1);
    await gov.queueAndExecute(DEV[0], actions, description, DEV[0]);
    await stack.waitForIndex();

    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    const model = new ModelPage(s.page);
    await model.open(slug);
    expect(await model.currentVersion().innerText()).toBe('v1');

    await shell.connectDevAccount(1);
    expect(await s.page.getByRole('button', { name: /Revoke v1/ }).count()).toBe(0);

    await shell.connectDevAccount(9);
    await s.page.getByRole('button', { name: 'Revoke v1 (guardian)' }).waitFor();
    await s.page.getByRole('button', { name: 'Revoke v1 (guardian)' }).click();
    const dialog = s.page.getByRole('dialog');
    expect(await dialog.innerText()).toContain('has no approved version');
    await s.shot('GUARD-001-1-confirm');
    await dialog.getByRole('button', { name: 'Yes, revoke v1' }).click();
    await s.page.getByTestId('no-current-version').waitFor({ timeout: 60_000 });
    expect(await model.currentVersion().innerText()).toBe('none');
    expect(await s.page.getByTestId('version-1-status').innerText()).toMatch(/Revoked .* by the guardian/);
    await s.shot('GUARD-001-2-revoked');
    await s.context.close();
  });
});
