import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { Markdown } from '../../app/_components/markdown';

const render = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));

describe('text written by strangers is rendered as safe Markdown', () => {
  it('drops raw HTML: script tags, event handlers and iframes never reach the page', () => {
    const html = render(
      'Hello <script>alert(1)</script> <img src=x onerror="alert(2)"> <iframe src="https://evil.example"></iframe> <b onclick="x()">bold</b>',
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/onerror/i);
    expect(html).not.toMatch(/<iframe/i);
    expect(html).not.toMatch(/onclick/i);
    expect(html).toContain('Hello');
  });

  it('neutralises javascript:, data: and vbscript: links, keeps https links with rel=nofollow noopener', () => {
    const html = render(
      '[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html;base64,PHNjcmlwdD4=) [d](vbscript:msgbox) [e](https://example.org/x) [f](  javascript:alert(1))',
    );
    expect(html).not.toMatch(/javascript:/i);
    expect(html).not.toMatch(/data:text/i);
    expect(html).not.toMatch(/vbscript:/i);
    expect(html).toContain('href="https://example.org/x"');
    expect(html).toMatch(/rel="nofollow noopener noreferrer ugc"/);
  });

  it('shows images as their description instead of loading them', () => {
    const html = render('![tracking pixel](https://evil.example/p.gif) ![x](javascript:alert(1))');
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('[image: tracking pixel]');
  });

  it('still renders ordinary Markdown: emphasis, lists, code', () => {
    const html = render('**bold** and `code`\n\n- one\n- two');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<code>code</code>');
    expect(html).toContain('<li>one</li>');
  });
});
