'use client';

import type { AccessRuleFields } from '@/lib/web/proposal-actions';

const RULES = [
  { kind: 0, label: 'Public — anyone' },
  { kind: 1, label: 'Token holders with a minimum balance' },
  { kind: 2, label: 'Allowlisted accounts only' },
] as const;

/** Who may fetch a model: Public, TokenHolders (token, minimum balance) or Allowlist. */
export function AccessRuleInputs({ value, onChange }: { value: AccessRuleFields; onChange: (v: AccessRuleFields) => void }) {
  return (
    <>
      {RULES.map((r) => (
        <label key={r.kind} style={{ display: 'block' }}>
          <input type="radio" name="rule" checked={value.kind === r.kind} onChange={() => onChange({ ...value, kind: r.kind })} /> {r.label}
        </label>
      ))}
      {value.kind === 1 && (
        <div className="btn-row">
          <label className="field">
            <span>Token (ERC-20 or ERC-721)</span>
            <input value={value.token} onChange={(e) => onChange({ ...value, token: e.target.value.trim() })} className="mono" />
          </label>
          <label className="field">
            <span>Minimum balance</span>
            <input value={value.minBalance} onChange={(e) => onChange({ ...value, minBalance: e.target.value })} inputMode="decimal" />
          </label>
        </div>
      )}
    </>
  );
}
