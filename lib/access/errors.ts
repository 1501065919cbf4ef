// Failures of the access domain (requests, tokens, on-chain rule). The HTTP layer maps `kind` to a
// status (lib/server/domain-errors.ts); this module knows nothing about HTTP (#17 layering rule).

export type AccessErrorKind =
  /** malformed or out-of-bounds input (400) */
  | 'invalid'
  /** no credential, or one that does not verify (401) */
  | 'unauthenticated'
  /** a valid credential the rule does not allow (403) */
  | 'forbidden'
  | 'not_found'
  /** a single-use thing used twice (409) */
  | 'conflict'
  /** the chain could not be read (502) */
  | 'unavailable';

export class AccessError extends Error {
  constructor(
    readonly kind: AccessErrorKind,
    /** stable snake_case code, the API's `error.code` */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AccessError';
  }
}
