// Errors the SDK throws. Each kind maps to one documented CLI exit code (docs/consumers.md).

export const EXIT_CODES = {
  ok: 0,
  /** bad arguments, missing configuration */
  usage: 2,
  /** RPC unreachable, wrong chain, registry not found there */
  chain: 3,
  /** unknown model, no current version, version revoked or missing */
  not_found: 4,
  /** bytes or manifest do not match the digest on chain; hostile manifest */
  integrity: 5,
  /** gated model: no key, signature refused, account not allowed */
  access: 6,
  /** every gateway failed to deliver (connection, HTTP errors, timeouts) */
  network: 7,
  /** the input was refused: a file or manifest the gateway (or the same rules, locally) declared invalid, over quota or too large */
  rejected: 8,
  /** this machine's filesystem failed: the cache or output directory cannot be written (permissions, disk full) */
  local: 9,
} as const;

export type ErrorKind = Exclude<keyof typeof EXIT_CODES, 'ok'>;

export class ModelDaoError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** snake_case, stable; e.g. `no_current_version`, `digest_mismatch`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelDaoError';
  }
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}
