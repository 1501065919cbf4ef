import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { Markdown } from '../../app/_components/markdown';
import { Untrusted } from '../../app/_components/untrusted';
import { displayLine, hasBidiControls, markdownIsSafeToParse, MARKDOWN_MAX_CHARS, revealBidi } from '../../lib/web/untrusted-text';

const md = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));
const timed = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
};

describe('bidi controls are shown, never obeyed', () => {
  const every = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'];

  it('reveals each of U+202A–U+202E, U+2066–U+2069, U+200E/F and U+061C by code point and name', () => {
    expect(revealBidi('invoice \u202Eexe.stnemhcatta_fdp')).toBe('invoice [U+202E RLO]exe.stnemhcatta_fdp');
    for (const c of every) {
      const shown = revealBidi(`a${c}b`);
      expect(hasBidiControls(shown)).toBe(false);
      expect(shown).toMatch(/^a\[U\+[0-9A-F]{4} [A-Z]{3}\]b$/);
    }
    expect(revealBidi('\u200F\u061C')).toBe('[U+200F RLM][U+061C ALM]');
    expect(revealBidi('plain العربية text')).toBe('plain العربية text'); // RTL letters themselves are fine
  });

  it('makes a one-line label for titles and lists: revealed, invisible characters and newlines gone, bounded', () => {
    expect(displayLine('a\u200Bb\u0000c\n\n d\u202E')).toBe('abc d[U+202E RLO]');
    expect(Array.from(displayLine('x'.repeat(1000), 80))).toHaveLength(80);
    expect(displayLine('x'.repeat(1000), 80).endsWith('…')).toBe(true);
    // never splits a surrogate pair
    expect(displayLine('😀'.repeat(100), 10)).toBe(`${'😀'.repeat(9)}…`);
  });

  it('isolates inline text in <bdi> and reveals its controls', () => {
    const html = renderToStaticMarkup(createElement(Untrusted, { text: 'x\u202Ey', line: true }));
    expect(html).toBe('<bdi class="untrusted">x[U+202E RLO]y</bdi>');
  });

  it('reveals controls inside Markdown and isolates the block', () => {
    const html = md('**bold \u202Eevil** and \u2067more');
    expect(hasBidiControls(html)).toBe(false);
    expect(html).toContain('[U+202E RLO]');
    expect(html).toContain('[U+2067 RLI]');
    expect(html).toContain('untrusted-block');
  });
});

describe('Markdown renders in bounded time whatever the text', () => {
  it('parses ordinary text, refuses text too long or too dense in delimiters', () => {
    expect(markdownIsSafeToParse('# Title\n\nSome **bold** and a [link](https://x.org).')).toBe(true);
    expect(markdownIsSafeToParse('x'.repeat(MARKDOWN_MAX_CHARS + 1))).toBe(false);
    expect(markdownIsSafeToParse('*a'.repeat(601))).toBe(false);
    expect(markdownIsSafeToParse('_a'.repeat(601))).toBe(false);
    expect(markdownIsSafeToParse('*a'.repeat(600))).toBe(true);
    expect(markdownIsSafeToParse('[a](https://x.org) '.repeat(400))).toBe(true);
    expect(markdownIsSafeToParse('[a](https://x.org) '.repeat(401))).toBe(false);
  });

  // Before: 10,000 × "*a" took 9 s and 50,000 took 139 s (micromark's delimiter matching is quadratic).
  it.each([
    ['a 100 kB word', 'W'.repeat(100_000)],
    ['50,000 emphasis delimiters', '*a'.repeat(50_000)],
    ['50,000 underscores', '_a'.repeat(50_000)],
    ['50,000 brackets', '[a'.repeat(50_000)],
    ['the most emphasis delimiters still parsed, in one paragraph', '*a'.repeat(600)],
    ['as many underscores', '_a'.repeat(600)],
    ['the most brackets still parsed', '[a'.repeat(400)],
    ['the most of everything still parsed', `${'[a](https://x.org) '.repeat(400)}${'**b** '.repeat(150)}${'text '.repeat(4_000)}`],
    ['a 1 MB description', 'word '.repeat(200_000)],
  ])('%s', (_name, text) => {
    const [html, ms] = timed(() => md(text));
    expect(ms).toBeLessThan(3_000); // generous for a loaded CI box; before the fix: 9 s to 139 s
    expect(html.length).toBeGreaterThan(text.length * 0.9); // nothing lost: all of it is shown
  });

  it('shows text it does not parse as plain text, escaped, with a note', () => {
    const html = md(`<script>alert(1)</script>${'*a'.repeat(3000)}`);
    expect(html).toContain('Shown as plain text');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toMatch(/<script/);
  });
});
