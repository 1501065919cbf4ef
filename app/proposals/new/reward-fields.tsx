'use client';

export interface RewardState {
  enabled: boolean;
  to: string;
  amount: string;
}

/** An optional treasury payment in the DAO's token, added to any kind of proposal. */
export function RewardFields({
  value,
  onChange,
  tokenSymbol,
  placeholder,
}: {
  value: RewardState;
  onChange: (v: RewardState) => void;
  tokenSymbol: string;
  placeholder: string;
}) {
  return (
    <fieldset>
      <legend>Treasury reward (optional)</legend>
      <label style={{ display: 'block' }}>
        <input type="checkbox" checked={value.enabled} onChange={(e) => onChange({ ...value, enabled: e.target.checked })} /> Also pay {tokenSymbol} from the
        treasury (for example to the maintainer)
      </label>
      {value.enabled && (
        <div className="btn-row">
          <label className="field">
            <span>Recipient</span>
            <input value={value.to} onChange={(e) => onChange({ ...value, to: e.target.value.trim() })} placeholder={placeholder} className="mono" />
          </label>
          <label className="field">
            <span>Amount ({tokenSymbol})</span>
            <input value={value.amount} onChange={(e) => onChange({ ...value, amount: e.target.value })} inputMode="decimal" />
          </label>
        </div>
      )}
    </fieldset>
  );
}
