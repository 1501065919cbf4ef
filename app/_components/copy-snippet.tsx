'use client';

import { useState } from 'react';

export function CopySnippet({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="snippet">
      <div className="small muted">{label}</div>
      <pre>
        <code>{text}</code>
      </pre>
      <button
        type="button"
        className="btn btn-small"
        aria-label={`Copy: ${text}`}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          } catch {}
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
