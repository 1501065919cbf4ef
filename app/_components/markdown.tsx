import ReactMarkdown, { type Components } from 'react-markdown';
import { markdownIsSafeToParse, revealBidi } from '../../lib/web/untrusted-text';

// Proposal descriptions, vote reasons and manifest text are written by strangers. Rendered as
// Markdown with: no raw HTML at all (skipped, not escaped-then-trusted), links only to http(s) and
// mailto (javascript:, data:, vbscript: … become plain text), no images (no tracking pixels or
// spoofed UI), and every link marked nofollow/noopener. Bidi controls are shown, not obeyed, the
// block is bidi-isolated, and text too long or too dense in delimiters to parse in bounded time is
// shown as plain text (lib/web/untrusted-text.ts).
const SAFE_URL = /^(https?:|mailto:)/i;

export function safeUrl(url: string): string {
  const u = url.trim();
  if (SAFE_URL.test(u)) return u;
  return '';
}

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} rel="nofollow noopener noreferrer ugc" target="_blank">
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  img: ({ alt }) => <span className="muted">[image: {alt || 'no description'}]</span>,
  h1: ({ children }) => <h3>{children}</h3>,
  h2: ({ children }) => <h4>{children}</h4>,
  h3: ({ children }) => <h5>{children}</h5>,
};

export function Markdown({ text, className }: { text: string; className?: string }) {
  const shown = revealBidi(text);
  if (!markdownIsSafeToParse(shown)) {
    return (
      <div className={`markdown untrusted-block ${className ?? ''}`} data-plain-text="">
        <p className="small muted">Shown as plain text: too long or too full of formatting marks to format.</p>
        <div className="plain-text">{shown}</div>
      </div>
    );
  }
  return (
    <div className={`markdown untrusted-block ${className ?? ''}`}>
      <ReactMarkdown skipHtml urlTransform={safeUrl} components={components}>
        {shown}
      </ReactMarkdown>
    </div>
  );
}
