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
});
