import { formatProgress, formatTokens, percent } from '@/lib/web/format';

/**
 * For / Against / Abstain as one bar scaled to the larger of total votes and quorum, with a marker
 * where quorum (For + Abstain) is reached.
 */
export function VoteBar({
  forVotes,
  againstVotes,
  abstainVotes,
  quorum,
  legend = true,
}: {
  forVotes: string;
  againstVotes: string;
  abstainVotes: string;
  quorum: string;
  legend?: boolean;
}) {
  const f = BigInt(forVotes);
  const a = BigInt(againstVotes);
  const ab = BigInt(abstainVotes);
  const q = BigInt(quorum);
  const total = f + a + ab;
  const scale = total > q ? total : q > 0n ? q : 1n;
  const quorumReached = q <= 0n || f + ab >= q;
  const quorumProgress = formatProgress(f + ab, q);
  const label = `For ${formatTokens(f)}, Against ${formatTokens(a)}, Abstain ${formatTokens(ab)}; quorum ${formatTokens(q)} (${quorumProgress} reached)`;
  return (
    <div>
      <div className="votebar" role="img" aria-label={label} title={label}>
        <span className="for" style={{ width: `${percent(f, scale)}%` }} />
        <span className="abstain" style={{ width: `${percent(ab, scale)}%` }} />
        <span className="against" style={{ width: `${percent(a, scale)}%` }} />
        {q > 0n && <span className="quorum" style={{ left: `calc(${percent(q, scale)}% - 1px)` }} aria-hidden="true" />}
      </div>
      {legend && (
        <div className="votebar-legend">
          <span>For {formatTokens(f)}</span>
          <span>Against {formatTokens(a)}</span>
          <span>Abstain {formatTokens(ab)}</span>
          <span>Quorum {quorumReached ? 'reached' : quorumProgress}</span>
        </div>
      )}
    </div>
  );
}
