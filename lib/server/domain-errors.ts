import { UPLOAD_AUTH_SCHEME, UploadAuthError, type UploadAuthErrorCode } from '../artifacts/upload-auth-format.ts';
import { AccessError, type AccessErrorKind } from '../access/errors.ts';
import { StatementError } from '../delegates/statement.ts';
import { RelayError, RELAY_ERROR_STATUS } from '../relay/errors.ts';

// Domain errors → HTTP. Domain modules (lib/artifacts, lib/access, …) throw their own errors and
// never import the HTTP layer; their status codes and headers are decided here, in lib/server
// (lib/server/http.ts turns the answer into an HttpError).

export interface HttpAnswer {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
}

const UPLOAD_AUTH_STATUS: Record<UploadAuthErrorCode, number> = {
  upload_authorization_required: 401,
  invalid_upload_authorization: 401,
  upload_authorization_expired: 401,
  upload_authorization_too_long: 401,
  audience_required: 400,
  wrong_audience: 401,
  invalid_signature: 401,
  insufficient_voting_power: 403,
  chain_unavailable: 502,
};

const ACCESS_STATUS: Record<AccessErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 502,
};

/** How a domain error is answered; null for anything that is not a known domain error. */
export function httpAnswerOf(err: unknown): HttpAnswer | null {
  if (err instanceof AccessError) {
    const status = ACCESS_STATUS[err.kind];
    // RFC 6750 §3: a missing or refused bearer token is answered with a challenge.
    let headers: Record<string, string> = {};
    if (err.code === 'access_token_required') headers = { 'www-authenticate': 'Bearer realm="modeldao"' };
    else if (status === 401 && /token/.test(err.code)) headers = { 'www-authenticate': 'Bearer error="invalid_token"' };
    return { status, code: err.code, message: err.message, headers };
  }
  if (err instanceof StatementError) return { status: ACCESS_STATUS[err.kind], code: err.code, message: err.message, headers: {} };
  if (err instanceof UploadAuthError) {
    const status = UPLOAD_AUTH_STATUS[err.code];
    return { status, code: err.code, message: err.message, headers: status === 401 ? { 'www-authenticate': `${UPLOAD_AUTH_SCHEME} realm="modeldao"` } : {} };
  }
  if (err instanceof RelayError) {
    const status = RELAY_ERROR_STATUS[err.code];
    return { status, code: err.code, message: err.message, headers: status === 503 || status === 429 ? { 'retry-after': '60' } : {} };
  }
  return null;
}
