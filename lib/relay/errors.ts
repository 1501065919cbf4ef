// Why a relayed request is refused. Domain errors: lib/server/domain-errors.ts decides the HTTP status.

export type RelayErrorCode =
  | 'invalid_request'
  | 'invalid_signature'
  | 'bad_nonce'
  | 'expired'
  | 'already_voted'
  | 'voting_closed'
  | 'unknown_proposal'
  | 'not_eligible'
  | 'account_limit'
  | 'proposal_limit'
  | 'would_revert'
  | 'gas_price_too_high'
  | 'over_budget'
  | 'relayer_out_of_funds'
  | 'relay_disabled'
  | 'chain_unavailable'
  | 'not_found';

export class RelayError extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP status of each refusal: the member's fault 4xx, the operator's limits and the chain 5xx. */
export const RELAY_ERROR_STATUS: Record<RelayErrorCode, number> = {
  invalid_request: 400,
  invalid_signature: 400,
  expired: 400,
  bad_nonce: 409,
  already_voted: 409,
  voting_closed: 409,
  unknown_proposal: 404,
  not_found: 404,
  not_eligible: 403,
  account_limit: 429,
  proposal_limit: 429,
  would_revert: 422,
  gas_price_too_high: 503,
  over_budget: 503,
  relayer_out_of_funds: 503,
  relay_disabled: 503,
  chain_unavailable: 502,
};
