// The model slug grammar, the one TypeScript copy (the registry contract keeps its own check,
// ModelRegistry._isValidSlug, with the same rule): 1–64 characters of lowercase letters, digits and
// dashes, not starting with a dash.

/** The grammar as a regular-expression fragment (no anchors): for URL patterns and <input pattern>. */
export const SLUG_PATTERN = '[a-z0-9][a-z0-9-]{0,63}';

const SLUG = new RegExp(`^${SLUG_PATTERN}$`);

export function isSlug(s: string): boolean {
  return SLUG.test(s);
}

/** The rule in words, for error messages. */
export const SLUG_RULE = `a model slug (${SLUG_PATTERN}: 1–64 lowercase letters, digits and dashes, not starting with a dash)`;
