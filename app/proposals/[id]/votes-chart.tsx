import type { VoteRow } from '@/lib/web/queries/proposals';
import { formatTokens } from '@/lib/web/format';

/** Cumulative For / Against / Abstain over the voting period, with the quorum line. Inline SVG. */
export function VotesChart({ votes, start, end, quorum }: { votes: VoteRow[]; start: number; end: number; quorum: string }) {
  const W = 320;
  const H = 140;
  const pad = 4;
  if (votes.length === 0) return <p className="muted small">No votes yet.</p>;
  const t0 = Math.min(start, votes[0]!.votedAt);
  const t1 = Math.max(end, votes[votes.length - 1]!.votedAt, t0 + 1);
  const series: Record<0 | 1 | 2, { t: number; v: bigint }[]> = { 0: [{ t: t0, v: 0n }], 1: [{ t: t0, v: 0n }], 2: [{ t: t0, v: 0n }] };
  const tot = { 0: 0n, 1: 0n, 2: 0n } as Record<0 | 1 | 2, bigint>;
  for (const v of votes) {
    tot[v.support] += BigInt(v.weight);
    series[v.support].push({ t: v.votedAt, v: tot[v.support] });
  }
  const q = BigInt(quorum);
  const max = [tot[0], tot[1], tot[2], q].reduce((a, b) => (b > a ? b : a), 1n);
  const x = (t: number) => pad + ((t - t0) / (t1 - t0)) * (W - 2 * pad);
  const y = (v: bigint) => H - pad - (Number((v * 1000n) / max) / 1000) * (H - 2 * pad);
  const path = (pts: { t: number; v: bigint }[], last: bigint) => {
    let d = `M${x(pts[0]!.t)},${y(pts[0]!.v)}`;
    let prev = pts[0]!.v;
    for (const p of pts.slice(1)) {
      d += ` L${x(p.t)},${y(prev)} L${x(p.t)},${y(p.v)}`;
      prev = p.v;
    }
    return d + ` L${x(t1)},${y(last)}`;
  };
  const label = `Votes over time: For ${formatTokens(tot[1])}, Against ${formatTokens(tot[0])}, Abstain ${formatTokens(tot[2])}; quorum ${formatTokens(q)}`;
  return (
    <figure style={{ margin: 0 }}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={label} data-testid="votes-chart">
        <rect x="0" y="0" width={W} height={H} fill="#fff" stroke="#dcdfe4" />
        {q > 0n && (
          <>
            <line x1={pad} x2={W - pad} y1={y(q)} y2={y(q)} stroke="#1b1d21" strokeDasharray="4 3" strokeWidth="1" />
            <text x={W - pad - 2} y={y(q) - 3} fontSize="9" textAnchor="end" fill="#1b1d21">
              quorum
            </text>
          </>
        )}
        <path d={path(series[1], tot[1])} fill="none" stroke="var(--for)" strokeWidth="2" />
        <path d={path(series[0], tot[0])} fill="none" stroke="var(--against)" strokeWidth="2" />
        <path d={path(series[2], tot[2])} fill="none" stroke="var(--abstain)" strokeWidth="2" />
      </svg>
      <figcaption className="votebar-legend">
        <span style={{ color: 'var(--for)' }}>■ For</span>
        <span style={{ color: 'var(--against)' }}>■ Against</span>
        <span style={{ color: 'var(--abstain)' }}>■ Abstain</span>
        <span>- - quorum (For + Abstain)</span>
      </figcaption>
    </figure>
  );
}
