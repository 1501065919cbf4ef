'use client';

import { SLUG_PATTERN } from '@/lib/slug';
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
        <input value={value.slug} onChange={(e) => onChange({ ...value, slug: e.target.value.trim() })} name="slug" pattern={SLUG_PATTERN} />
      </label>
      <fieldset>
        <legend>Who may fetch it</legend>
        <AccessRuleInputs value={value.rule} onChange={(rule) => onChange({ ...value, rule })} />
      </fieldset>
    </>
  );
}
