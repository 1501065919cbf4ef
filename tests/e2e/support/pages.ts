import { expect } from 'vitest';
import type { Locator, Page } from 'playwright-core';

// Page objects: what a member sees and does, in the words of the UI. Specs read as stories.

export type DevAccount = 0 | 1 | 2 | 3 | 4 | 7 | 9;

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export class AppShell {
  constructor(readonly page: Page) {}

  async connectDevAccount(n: DevAccount) {
    const account = this.page.getByTestId('wallet-account');
    if (await account.isVisible().catch(() => false)) await this.disconnect();
    await this.page.getByRole('button', { name: 'Connect wallet' }).click();
    await this.page.getByRole('button', { name: new RegExp(`^Dev account #${n}\\b`) }).click();
    await account.waitFor();
  }

  async disconnect() {
    await this.page.getByTestId('wallet-account').click();
    await this.page.getByRole('button', { name: 'Disconnect' }).click();
    await this.page.getByRole('button', { name: 'Connect wallet' }).waitFor();
  }

  async votingPowerText(): Promise<string> {
    const votes = this.page.getByTestId('wallet-votes');
    await eventually(async () => !(await votes.innerText()).startsWith('…'), 'voting power to load');
    return votes.innerText();
  }

  nav(name: 'Models' | 'Proposals' | 'Delegates'): Locator {
    return this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
  }
}

export class ModelsPage {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.goto('/');
  }
  card(slug: string) {
    return this.page.getByTestId(`model-card-${slug}`);
  }
}

export class ModelPage {
  constructor(readonly page: Page) {}
  async open(slug: string) {
    await this.page.goto(`/models/${slug}`);
  }
  currentVersion() {
    return this.page.getByTestId('model-current-version');
  }
  version(n: number) {
    return this.page.getByTestId(`version-${n}`);
  }
  async revoke(n: number) {
    await this.page.getByRole('button', { name: `Revoke v${n} (guardian)` }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: `Yes, revoke v${n}` }).click();
  }
}

export class ProposalsPage {
  constructor(readonly page: Page) {}
  async open(query = '') {
    await this.page.goto(`/proposals${query}`);
  }
  rows() {
    return this.page.getByTestId('proposal-row');
  }
}

export class ProposalPage {
  constructor(readonly page: Page) {}
  async open(id: bigint | string) {
    await this.page.goto(`/proposals/${id}`);
  }
  state() {
    return this.page.getByTestId('proposal-state').first();
  }
  liveState() {
    return this.page.getByTestId('live-state');
  }
  async waitForLiveState(name: string) {
    await eventually(async () => (await this.liveState().innerText()) === name, `live state ${name}`, 45_000);
  }
  /** Reloads until the server-rendered (indexed) state shows `name`. */
  async waitForIndexedState(name: string) {
    await eventually(
      async () => {
        await this.page.reload();
        return (await this.state().innerText()) === name;
      },
      `indexed state ${name}`,
      45_000,
    );
  }
  async vote(support: 'For' | 'Against' | 'Abstain', reason = '') {
    await this.page.getByRole('radio', { name: support }).check();
    if (reason) await this.page.getByRole('textbox', { name: /Reason/ }).fill(reason);
    await this.page.getByRole('button', { name: new RegExp(`^Vote ${support}`) }).click();
    await this.page.getByTestId('voted').waitFor({ timeout: 45_000 });
  }
  delegateFirstNotice() {
    return this.page.getByTestId('delegate-first');
  }
  queueButton() {
    return this.page.getByRole('button', { name: 'Queue', exact: true });
  }
  executeButton() {
    return this.page.getByRole('button', { name: 'Execute', exact: true });
  }
  async clickWhenEnabled(button: Locator) {
    await eventually(async () => button.isEnabled(), 'button to be enabled', 45_000);
    await button.click();
    await this.page.getByTestId('tx-status').filter({ hasText: 'Done.' }).waitFor({ timeout: 60_000 });
  }
  voters() {
    return this.page.getByTestId('voters');
  }
  diff() {
    return this.page.getByTestId('version-diff');
  }
}

export class DelegatesPage {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.goto('/delegates');
  }
  async delegateToMyself() {
    await this.page.getByRole('button', { name: 'Delegate to myself' }).click();
    await this.page.getByRole('status').filter({ hasText: 'Done.' }).waitFor({ timeout: 60_000 });
  }
  myVotingPower() {
    return this.page.getByTestId('my-voting-power');
  }
  delegateFirstNotice() {
    return this.page.getByTestId('delegate-first');
  }
}

export class NewProposalPage {
  constructor(readonly page: Page) {}
  async open(type = 'publish', model?: string) {
    await this.page.goto(`/proposals/new?type=${type}${model ? `&model=${model}` : ''}`);
  }
  /** In-memory files, or paths (Playwright refuses buffers over 50 MB). */
  async uploadFiles(files: { name: string; mimeType: string; buffer: Buffer }[] | string[]) {
    await this.page.getByTestId('file-input').setInputFiles(files);
    await eventually(
      async () => {
        const rows = this.page.getByTestId('upload-row');
        const n = await rows.count();
        if (n < files.length) return false;
        for (let i = 0; i < n; i++) if ((await rows.nth(i).getByTestId('upload-sha256').count()) === 0) return false;
        return true;
      },
      'every upload to finish',
      120_000,
    );
  }
  async storeManifest() {
    await this.page.getByRole('button', { name: 'Store the manifest' }).click();
    await this.page.getByTestId('manifest-digest').waitFor({ timeout: 30_000 });
  }
  draftDiff() {
    return this.page.getByTestId('draft-diff');
  }
  async fill(title: string, body: string) {
    await this.page.getByRole('textbox', { name: 'Title' }).fill(title);
    await this.page.getByRole('textbox', { name: /^Why/ }).fill(body);
  }
  /** Submits; resolves with the new proposal's id once the app navigated to it. */
  async submit(): Promise<string> {
    await this.page.getByRole('button', { name: 'Submit proposal' }).click();
    await this.page.waitForURL(/\/proposals\/\d+$/, { timeout: 90_000 });
    return this.page.url().split('/').pop()!;
  }
  problems() {
    return this.page.getByTestId('form-problems');
  }
}

export { expect, eventually };
