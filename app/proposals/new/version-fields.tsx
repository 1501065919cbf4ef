'use client';

import type { ModelOption } from '@/lib/web/proposal-actions';

/** Rollback or deprecate: which Active version. */
export function VersionFields({ model, value, onChange }: { model: ModelOption | null; value: string; onChange: (v: string) => void }) {
  const active = model?.versions.filter((v) => v.status === 'Active') ?? [];
  return (
    <label className="field">
      <span>Version</span>
      <select value={value} onChange={(e) => onChange(e.target.value)} name="version">
        <option value="">Choose…</option>
        {active.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version}
            {v.version === model?.currentVersion ? ' (current)' : ''}
          </option>
        ))}
      </select>
    </label>
  );
}
