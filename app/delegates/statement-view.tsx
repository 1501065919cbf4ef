import Link from 'next/link';
import { Markdown, safeUrl } from '../_components/markdown';
import { Untrusted } from '../_components/untrusted';
import { displayLine } from '../../lib/web/untrusted-text';
import { isSlug } from '../../lib/slug';
import type { StoredStatementJson } from '../../lib/delegates/statement';

// A delegate's signed statement, written by the delegate and so hostile text: the name is a one-line
// label, the statement is Markdown rendered like proposal descriptions (components/markdown.tsx), links
// only http(s) (shown as text, not just as an anchor, so a link cannot pretend to go elsewhere), model
// slugs only when they match the slug grammar. The signature is shown for anyone who wants to verify.
export function StatementView({ stored, full }: { stored: StoredStatementJson; full?: boolean }) {
  const s = stored.statement;
  return (
    <div className="delegate-statement" data-testid="delegate-statement">
      <p style={{ margin: '0 0 6px' }}>
        <strong data-testid="statement-name">
          <Untrusted text={s.name} line max={80} />
        </strong>
      </p>
      {full ? <Markdown text={s.statement} /> : <p className="small">{displayLine(s.statement.replace(/[#*_`>[\]()]/g, ''), 240)}</p>}
      {full && s.links.length > 0 && (
        <ul className="small" aria-label="Links">
          {s.links.map((l, i) => {
            const url = safeUrl(l);
            return (
              <li key={i}>
                {url ? (
                  <a href={url} rel="nofollow noopener noreferrer ugc" target="_blank">
                    <Untrusted text={l} line max={120} />
                  </a>
                ) : (
                  <Untrusted text={l} line max={120} />
                )}
              </li>
            );
          })}
        </ul>
      )}
      {full && s.models.length > 0 && (
        <p className="small">
          Cares about:{' '}
          {s.models
            .filter((m) => isSlug(m))
            .map((m, i) => (
              <span key={m}>
                {i > 0 && ', '}
                <Link href={`/models/${m}`}>{m}</Link>
              </span>
            ))}
        </p>
      )}
      {full && (
        <details className="small">
          <summary>Signed by the delegate (EIP-712) — verify it yourself</summary>
          <p className="muted">
            Domain “{stored.domain.name}” v{stored.domain.version}, chain {stored.domain.chainId}, governor{' '}
            <span className="mono">{stored.domain.verifyingContract}</span>; issued at {new Date(Number(s.issuedAt) * 1000).toISOString()}. The JSON with the
            signature: <a href={`/api/delegates/${s.delegate}`}>/api/delegates/{s.delegate}</a>
          </p>
          <p className="mono" style={{ wordBreak: 'break-all' }} data-testid="statement-signature">
            {stored.signature}
          </p>
        </details>
      )}
    </div>
  );
}
