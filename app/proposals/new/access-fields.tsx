'use client';

import type { AccessRuleFields, ModelOption } from '@/lib/web/proposal-actions';
import { AccessRuleInputs } from './access-rule-fields';

export interface AccessState {
  changeRule: boolean;
  rule: AccessRuleFields;
  allowAdd: string;
  allowRemove: string;
}

/** Change a model's access rule and/or its allowlist. */
export function AccessFields({ model, value, onChange }: { model: ModelOption | null; value: AccessState; onChange: (v: AccessState) => void }) {
  return (
    <fieldset>
      <legend>Who may fetch it</legend>
      <label style={{ display: 'block' }}>
        <input type="checkbox" checked={value.changeRule} onChange={(e) => onChange({ ...value, changeRule: e.target.checked })} /> Change the access rule (now:{' '}
        {model?.accessKind})
      </label>
      {value.changeRule && <AccessRuleInputs value={value.rule} onChange={(rule) => onChange({ ...value, rule })} />}
      <label className="field">
        <span>
          Add to the allowlist <span className="hint">(addresses, comma or space separated)</span>
        </span>
        <textarea value={value.allowAdd} onChange={(e) => onChange({ ...value, allowAdd: e.target.value })} className="mono" />
      </label>
      <label className="field">
        <span>Remove from the allowlist</span>
        <textarea value={value.allowRemove} onChange={(e) => onChange({ ...value, allowRemove: e.target.value })} className="mono" />
      </label>
      {model && model.allowlist.length > 0 && <p className="small muted">Allowlisted now: {model.allowlist.join(', ')}</p>}
    </fieldset>
  );
}
