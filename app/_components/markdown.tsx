import ReactMarkdown, { type Components } from 'react-markdown';

// Proposal descriptions, vote reasons and manifest text are written by strangers. Rendered as
// Markdown with: no raw HTML at all (skipped, not escaped-then-trusted), links only to http(s) and
// mailto (javascript:, data:, vbscript: … become plain text), no images (no tracking pixels or
// spoofed UI), and every link marked nofollow/noopener.
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
  return (
    <div className={`markdown ${className ?? ''}`}>
      <ReactMarkdown skipHtml urlTransform={safeUrl} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
