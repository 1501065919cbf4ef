import { afterAll, beforeAll, onTestFailed } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// Debian's Chromium (apt-get install -y chromium), driven by playwright-core: nothing downloaded.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'test-results', 'e2e');

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** One Chromium for a describe block: launched before its tests, closed after. */
export function useBrowser(): { readonly current: Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get current(): Browser {
      if (!browser) throw new Error('the browser is not launched yet (use it inside a test)');
      return browser;
    },
  };
}

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Saves test-results/e2e/<name>.png (full page). */
  shot(name: string): Promise<string>;
  errors: string[];
  /** console.error output (hydration warnings, failed requests), for the log */
  consoleErrors: string[];
}

export async function openSession(
  browser: Browser,
  baseUrl: string,
  opts: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } } = {},
): Promise<Session> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(30_000);
  // `npm run dev` compiles each page on its first request: allow for it on a busy 2-core machine.
  context.setDefaultNavigationTimeout(180_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text().slice(0, Number(process.env.E2E_CONSOLE_CHARS ?? 500)));
  });
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // When the story fails, say what the browser was looking at: CI keeps only the log.
  const documents: string[] = [];
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) documents.push(`${r.status()} ${r.url()}`);
  });
  onTestFailed(async ({ task }) => {
    const lines = [`--- browser at failure of "${task.name}"`, `url: ${page.url()}`, `documents: ${documents.slice(-5).join(' | ') || 'none'}`];
    try {
      lines.push(`title: ${await page.title()}`, `text: ${(await page.locator('body').innerText({ timeout: 2_000 })).replace(/\s+/g, ' ').slice(0, 1500)}`);
      const file = path.join(SCREENSHOT_DIR, `FAILED-${task.name.split(':')[0]!.replace(/[^\w-]+/g, '_')}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
      lines.push(`screenshot: ${file}`);
    } catch (err) {
      lines.push(`(page not readable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    }
    if (errors.length) lines.push(`page errors: ${errors.join(' | ')}`);
    if (consoleErrors.length) lines.push(`console errors: ${consoleErrors.slice(-5).join(' | ')}`);
    const log = path.join(SCREENSHOT_DIR, 'stack.log');
    if (fs.existsSync(log)) lines.push('stack log (last 40 lines):', ...fs.readFileSync(log, 'utf8').split('\n').slice(-40));
    console.error(lines.join('\n'));
  });
  return {
    context,
    page,
    errors,
    consoleErrors,
    async shot(name: string) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      // caret: 'initial': the default hides the caret by styling inputs, which React then reports as a hydration mismatch
      await page.screenshot({ path: file, fullPage: true, caret: 'initial' });
      return file;
    },
  };
}
