import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { StatementView } from '../../app/delegates/statement-view';
import { delegateStatementTypes, statementDomain, type StoredStatementJson } from '../../lib/delegates/statement';

// A delegate's statement is written by the delegate: whatever they sign must render inert.
const stored = (over: Partial<StoredStatementJson['statement']>): StoredStatementJson => ({
  statement: {
    delegate: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
    name: 'Alice',
    statement: 'Hello',
    links: [],
    models: [],
    issuedAt: '1700000000',
    expiry: '1700000600',
    ...over,
  },
  signature: `0x${'ab'.repeat(65)}`,
  domain: statementDomain(31337, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0'),
  primaryType: 'DelegateStatement',
  types: delegateStatementTypes,
  updatedAt: '2026-01-01T00:00:00.000Z',
});
const render = (s: StoredStatementJson, full = true) => renderToStaticMarkup(createElement(StatementView, { stored: s, full }));

describe('delegate statements render inert', () => {
  it('drops script, event handlers, iframes and javascript: links in the statement, name and links', () => {
    const html = render(
      stored({
        name: '<img src=x onerror=alert(1)>Alice<script>alert(2)</script>',
        statement:
          '# Me\n\n<script>alert(3)</script><iframe src="https://evil.example"></iframe> [click](javascript:alert(4)) <b onclick="x()">b</b> ![p](https://evil.example/p.gif)',
        links: ['javascript:alert(5)', 'https://alice.example/"><script>alert(6)</script>'],
        models: ['tiny-lm', '"><script>alert(7)</script>'],
      }),
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<iframe/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<[^>]*\son\w+=/i);
    expect(html).not.toMatch(/href="javascript:/i);
    // the name is shown as text, escaped
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;Alice');
    expect(html).toContain('href="/models/tiny-lm"');
    expect(html).toContain('rel="nofollow noopener noreferrer ugc"');
  });

  it('shows bidi controls instead of obeying them (no spoofed names)', () => {
    const html = render(stored({ name: 'Alice\u202Eevil' }));
    expect(html).not.toContain('\u202E');
  });

  it('the list view is one bounded line of plain text', () => {
    const html = render(stored({ statement: `**bold** ${'x'.repeat(5000)}` }), false);
    expect(html).not.toContain('<strong>');
    expect(html.length).toBeLessThan(2000);
  });
});
