import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, NewProposalPage } from './support/pages.ts';
import { useStack } from './support/stack.ts';

describe('GOV: large uploads resume', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('GOV-006: a 70 MiB file goes up in parts; when the connection drops during a part, the page resumes where the server left off', async () => {
    const bytes = randomBytes(70 * 1024 * 1024);
    const s = await openSession(browser.current, stack.baseUrl);
    const patches: string[] = [];
    let cut = false;
    // The network drops the second part once; the page must ask the server (HEAD) and send it again.
    await s.page.route('**/api/uploads/sessions/*', async (route) => {
      const req = route.request();
      if (req.method() === 'PATCH') {
        const offset = (await req.allHeaders())['upload-offset'] ?? '?';
        patches.push(offset);
        if (!cut && offset !== '0') {
          cut = true;
          return route.abort('connectionreset');
        }
      }
      return route.continue();
    });
    const shell = new AppShell(s.page);
    const form = new NewProposalPage(s.page);
    await form.open('publish', 'tiny-lm');
    await shell.connectDevAccount(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-e2e-big-'));
    const file = path.join(dir, 'big.bin');
    fs.writeFileSync(file, bytes);
    try {
      await form.uploadFiles([file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const shown = await s.page.getByTestId('upload-sha256').first().innerText();
    expect(shown.replace(/^sha256:/, '')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(cut).toBe(true);
    // parts at 0, 32 MiB (cut), 32 MiB again, 64 MiB
    const MiB = 1024 * 1024;
    expect(patches).toEqual(['0', String(32 * MiB), String(32 * MiB), String(64 * MiB)]);
  });

  it('GOV-007: the page is reloaded in the middle of a large upload; adding the same file again continues the same session', async () => {
    const MiB = 1024 * 1024;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-e2e-big-'));
    const file = path.join(dir, 'shard.bin');
    const bytes = randomBytes(70 * MiB);
    fs.writeFileSync(file, bytes);
    const s = await openSession(browser.current, stack.baseUrl);
    const patches: string[] = [];
    const creates: number[] = [];
    let reloaded = false;
    let reachedSecondPart!: () => void;
    const secondPart = new Promise<void>((r) => (reachedSecondPart = r));
    await s.page.route('**/api/uploads/sessions**', async (route) => {
      const req = route.request();
      if (req.method() === 'POST') creates.push(1);
      if (req.method() === 'PATCH') {
        const offset = (await req.allHeaders())['upload-offset'] ?? '?';
        patches.push(offset);
        if (!reloaded && offset !== '0') {
          reachedSecondPart(); // the first part is on the server; this one never arrives
          return route.abort('connectionreset');
        }
      }
      return route.continue();
    });
    const shell = new AppShell(s.page);
    const form = new NewProposalPage(s.page);
    try {
      await form.open('publish', 'tiny-lm');
      await shell.connectDevAccount(0);
      await s.page.getByTestId('file-input').setInputFiles(file);
      await secondPart;
      reloaded = true;
      await s.page.reload();
      // wagmi reconnects the account it had; connect again only if it did not
      const account = s.page.getByTestId('wallet-account');
      const connect = s.page.getByRole('button', { name: 'Connect wallet' });
      await account.or(connect).first().waitFor();
      await s.page.waitForLoadState('networkidle');
      if (!(await account.isVisible())) await shell.connectDevAccount(0);
      await form.uploadFiles([file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const shown = await s.page.getByTestId('upload-sha256').first().innerText();
    expect(shown.replace(/^sha256:/, '')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(creates.length).toBe(1); // one session, before and after the reload
    expect(patches[0]).toBe('0');
    expect(patches.slice(1).every((o) => o !== '0')).toBe(true); // nothing sent twice from the start
    expect(patches).toContain(String(64 * MiB));
  });
});
