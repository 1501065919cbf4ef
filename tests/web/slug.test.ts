import { describe, expect, it } from 'vitest';
import { isSlug, SLUG_PATTERN } from '../../lib/slug';
import { manifestSchema } from '../../lib/manifest';

// One slug grammar for the manifest, the SDK, the API routes and the new-proposal form; the registry
// contract's _isValidSlug enforces the same rule on chain (contracts/test covers it there).
describe('the model slug grammar', () => {
  it.each([
    ['tiny-lm', true],
    ['a', true],
    ['0', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['', false],
    ['-lead', false],
    ['trail-', true],
    ['Tiny', false],
    ['tiny_lm', false],
    ['tiny.lm', false],
    ['tiny lm', false],
    ['tiny-lm\n', false],
  ])('%j → %s', (slug, ok) => {
    expect(isSlug(slug)).toBe(ok);
    // the same answer as a browser's <input pattern> (whole-value match) and the API's URL pattern
    expect(new RegExp(`^(?:${SLUG_PATTERN})$`).test(slug)).toBe(ok);
    // and the manifest's model field
    expect(manifestSchema.shape.model.safeParse(slug).success).toBe(ok);
  });
});
