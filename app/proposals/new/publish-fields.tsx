'use client';

import { useMemo, useState } from 'react';
import { ManifestDiffView } from '@/app/_components/manifest-diff-view';
import { draftManifest, evalsProblem, uploadedSafetensors, type ManifestFields } from '@/lib/web/draft-manifest';
import { formatBytes, formatParams } from '@/lib/web/format';
import type { Uploads } from '@/lib/web/hooks/use-uploads';
import { diffManifests } from '@/lib/web/manifest-diff';
import type { ModelOption } from '@/lib/web/proposal-actions';

function parentLabel(m: ModelOption | null): string {
  if (!m?.parent) return 'none — this is the first version';
  if (m.parent.version === m.currentVersion) return `v${m.parent.version} (current)`;
  return `v${m.parent.version} (${m.parent.status.toLowerCase()}; the model has no current version)`;
}

/** Publish a new version: upload its files, describe it, see what changes, store its manifest. */
export function PublishFields({
  model,
  uploads,
  value,
  onChange,
  onError,
}: {
  model: ModelOption | null;
  uploads: Uploads;
  value: ManifestFields;
  onChange: (v: ManifestFields) => void;
  /** a problem storing the manifest, for the form's problem list (null clears it) */
  onError: (message: string | null) => void;
}) {
  const [over, setOver] = useState(false);
  const { files, uploaded } = uploads;
  const draft = useMemo(() => (model && uploaded.length > 0 ? draftManifest(model, uploaded, value) : null), [model, uploaded, value]);
  const current = model?.current ?? null;
  const diff = useMemo(
    () => (draft ? diffManifests(current, { manifest: draft, safetensors: uploadedSafetensors(uploaded) }) : null),
    [draft, uploaded, current],
  );
  const edit = (patch: Partial<ManifestFields>) => {
    onChange({ ...value, ...patch });
    uploads.invalidateManifest();
  };

  async function store() {
    if (!draft) return;
    onError(null);
    const bad = evalsProblem(value.evals);
    if (bad) return onError(bad);
    try {
      await uploads.storeManifest(draft);
    } catch (err) {
      onError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <fieldset>
      <legend>New version of {model?.slug ?? '…'}</legend>
      <p className="small muted">
        Parent: {parentLabel(model)}. Files are uploaded to this server, hashed (sha256 + IPFS CID) and kept unpinned until a version that lists them is
        published.
      </p>
      <div
        className={`dropzone ${over ? 'over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer.files.length) void uploads.addFiles(e.dataTransfer.files);
        }}
        data-testid="dropzone"
      >
        <p style={{ marginTop: 0 }}>Drop weights, config and tokenizer files here, or</p>
        <label className="btn">
          Choose files
          <input
            type="file"
            multiple
            className="sr-only"
            aria-label="Choose files to upload"
            data-testid="file-input"
            onChange={(e) => {
              if (e.target.files?.length) void uploads.addFiles(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
      </div>
      {files.length > 0 && (
        <div className="table-wrap">
          <table data-testid="upload-list">
            <thead>
              <tr>
                <th>File</th>
                <th>Progress</th>
                <th>sha256 / CID</th>
                <th>
                  <span className="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {files.map((f) => (
                <tr key={f.key} data-testid="upload-row">
                  <td className="mono">
                    {f.file.name}
                    <div className="small muted">{formatBytes(f.file.size)}</div>
                  </td>
                  <td>
                    {f.status === 'error' ? (
                      <span className="error" role="alert">
                        {f.error}
                      </span>
                    ) : (
                      <>
                        <progress max={f.file.size || 1} value={f.loaded} aria-label={`Upload of ${f.file.name}`} />{' '}
                        <span className="small">{f.status === 'done' ? 'done' : `${Math.floor((f.loaded / (f.file.size || 1)) * 100)}%`}</span>
                      </>
                    )}
                  </td>
                  <td className="small mono">
                    {f.result ? (
                      <>
                        <div data-testid="upload-sha256">{f.result.sha256}</div>
                        <div className="muted">{f.result.cid}</div>
                        {f.result.safetensors && (
                          <div>
                            {f.result.safetensors.tensors.length} tensors · {formatParams(f.result.safetensors.parameters.total)} params
                          </div>
                        )}
                      </>
                    ) : (
                      '…'
                    )}
                  </td>
                  <td>
                    <button type="button" className="btn btn-small" aria-label={`Remove ${f.file.name}`} onClick={() => uploads.removeFile(f.key)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <label className="field">
        <span>License</span>
        <input value={value.license} onChange={(e) => edit({ license: e.target.value })} name="license" />
      </label>
      <label className="field">
        <span>
          Version notes <span className="hint">(Markdown, stored in the manifest)</span>
        </span>
        <textarea value={value.notes} onChange={(e) => edit({ notes: e.target.value })} name="version-notes" />
      </label>
      <label className="field">
        <span>
          Eval results <span className="hint">(JSON array, e.g. {'[{"name":"hellaswag","acc":0.41}]'})</span>
        </span>
        <textarea value={value.evals} onChange={(e) => edit({ evals: e.target.value })} name="evals" className="mono" />
      </label>

      {diff && (
        <section aria-labelledby="draft-diff-h" className="card" data-testid="draft-diff">
          <h3 id="draft-diff-h" style={{ marginTop: 0 }}>
            What changes against {model?.parent ? `v${model.parent.version}` : 'nothing (first version)'}
          </h3>
          <ManifestDiffView diff={diff} headingLevel={4} />
          <div className="btn-row">
            <button type="button" className="btn" onClick={store} disabled={uploads.manifestBusy || files.some((f) => f.status !== 'done')}>
              {uploads.manifestDigest ? 'Manifest stored' : uploads.manifestBusy ? 'Storing…' : 'Store the manifest'}
            </button>
            {uploads.manifestDigest && (
              <span className="small">
                digest <code data-testid="manifest-digest">{uploads.manifestDigest}</code>
              </span>
            )}
          </div>
        </section>
      )}
    </fieldset>
  );
}
