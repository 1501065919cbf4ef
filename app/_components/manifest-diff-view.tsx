import type { ManifestDiff } from '@/lib/web/manifest-diff';
import { formatBytes, formatSignedParams } from '@/lib/web/format';
import { Untrusted } from './untrusted';

/**
 * What a version changes against the one it replaces (lib/web/manifest-diff.ts): sizes, parameters,
 * files, tensors. One view for the proposal page and the new-proposal form's draft.
 */
export function ManifestDiffView({ diff, headingLevel = 3 }: { diff: ManifestDiff; headingLevel?: 3 | 4 }) {
  const H = headingLevel === 3 ? 'h3' : 'h4';
  const changedFiles = diff.files.filter((f) => f.kind !== 'unchanged');
  return (
    <>
      <p>
        {formatBytes(diff.bytesBefore)} → <strong>{formatBytes(diff.bytesAfter)}</strong>
        {diff.paramDelta !== null && (
          <>
            {' '}
            · parameters {diff.paramsBefore?.toLocaleString('en-US')} → <strong>{diff.paramsAfter?.toLocaleString('en-US')}</strong> (
            <span data-testid="param-delta">{formatSignedParams(diff.paramDelta)}</span>)
          </>
        )}
      </p>
      <H>Files</H>
      {changedFiles.length === 0 ? (
        <p className="muted">No file changed.</p>
      ) : (
        <ul data-testid="file-changes">
          {changedFiles.map((f) => (
            <li key={f.path} className={`diff-${f.kind}`}>
              {f.kind === 'added' ? '+ added' : f.kind === 'removed' ? '− removed' : '~ changed'}{' '}
              <span className="mono">
                <Untrusted text={f.path} />
              </span>{' '}
              <span className="small muted">
                {f.sizeBefore !== null && f.sizeAfter !== null
                  ? `${formatBytes(f.sizeBefore)} → ${formatBytes(f.sizeAfter)}`
                  : formatBytes(f.sizeAfter ?? f.sizeBefore)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {diff.files.some((f) => f.kind === 'unchanged') && (
        <p className="small muted">{diff.files.filter((f) => f.kind === 'unchanged').length} file(s) unchanged.</p>
      )}
      <H>Tensors</H>
      {diff.paramsAfter === null ? (
        <p className="muted">No safetensors header available for this version.</p>
      ) : !diff.tensorsComparable ? (
        <p className="notice-warn">
          The version it replaces has no safetensors header on this server, so its tensors cannot be compared; this version has{' '}
          {diff.paramsAfter.toLocaleString('en-US')} parameters.
        </p>
      ) : diff.tensors.length === 0 ? (
        <p className="muted">No tensor added, removed, reshaped or retyped ({diff.unchangedTensors} unchanged).</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="tensor-changes">
            <thead>
              <tr>
                <th>Tensor</th>
                <th>Change</th>
                <th>Before</th>
                <th>After</th>
                <th className="num">Δ params</th>
              </tr>
            </thead>
            <tbody>
              {diff.tensors.map((t) => (
                <tr key={t.name} className={t.kind === 'added' ? 'diff-added' : t.kind === 'removed' ? 'diff-removed' : 'diff-changed'}>
                  <td className="mono">
                    <Untrusted text={t.name} />
                  </td>
                  <td>{t.kind}</td>
                  <td className="mono">{t.before ? `${t.before.dtype} [${t.before.shape.join(', ')}]` : '—'}</td>
                  <td className="mono">{t.after ? `${t.after.dtype} [${t.after.shape.join(', ')}]` : '—'}</td>
                  <td className="num">{formatSignedParams(t.paramDelta)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="small muted">{diff.unchangedTensors} tensor(s) unchanged.</p>
        </div>
      )}
    </>
  );
}
