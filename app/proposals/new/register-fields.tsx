'use client';

import type { AccessRuleFields } from '@/lib/web/proposal-actions';
import { AccessRuleInputs } from './access-rule-fields';

export interface RegisterState {
  slug: string;
  rule: AccessRuleFields;
}

/** Register a model: its slug and who may fetch it. */
export function RegisterFields({ value, onChange }: { value: RegisterState; onChange: (v: RegisterState) => void }) {
  return (
    <>
      <label className="field">
        <span>
          Slug <span className="hint">(lowercase letters, digits, dashes)</span>
        </span>
        <input value={value.slug} onChange={(e) => onChange({ ...value, slug: e.target.value.trim() })} name="slug" pattern="[a-z0-9][a-z0-9-]{0,63}" />
      </label>
      <fieldset>
        <legend>Who may fetch it</legend>
        <AccessRuleInputs value={value.rule} onChange={(rule) => onChange({ ...value, rule })} />
      </fieldset>
    </>
  );
}
