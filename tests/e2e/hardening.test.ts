import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { useStack } from './support/stack.ts';

describe('HARD: pages hold up to what users send and share', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('HARD-001: a page URL with malformed percent-encoding gets a 400 page, not a 500', async () => {
    for (const bad of ['/models/%ff', '/proposals/%', '/models/%E0%A4%A', '/delegates/%zz']) {
      const res = await fetch(`${stack.baseUrl}${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain('400');
      expect(html).not.toContain(bad); // the request is not echoed
    }
    // The browser shows the page (and the app's well-formed URLs are untouched).
    const s = await openSession(browser.current, stack.baseUrl);
    const res = await s.page.goto(`${stack.baseUrl}/models/%ff`);
    expect(res?.status()).toBe(400);
    expect(await s.page.getByRole('heading', { level: 1 }).innerText()).toMatch(/cannot be read/);
    expect((await fetch(`${stack.baseUrl}/models/tiny-lm`)).status).toBe(200);
    await s.context.close();
  });

  it('HARD-002: a shared link carries an absolute preview image and the page has its icons', async () => {
    const html = await (await fetch(`${stack.baseUrl}/`)).text();
    const og = /<meta property="og:image" content="([^"]+)"/.exec(html)?.[1];
    expect(og).toMatch(/^https?:\/\/[^/]+\/og-image\.png$/);
    const img = await fetch(new URL(new URL(og!).pathname, stack.baseUrl));
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');
    for (const icon of ['/favicon.ico', '/favicon.svg', '/apple-touch-icon.png', '/site.webmanifest']) {
      expect(html).toContain(`href="${icon}"`);
      expect((await fetch(`${stack.baseUrl}${icon}`)).status, icon).toBe(200);
    }
  });
});
