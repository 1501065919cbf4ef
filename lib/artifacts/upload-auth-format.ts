import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem';

// The upload-authorization format, one portable module (no node-only imports) used by the browser
// (app/proposals/new), the SDK and CLI (lib/sdk/upload.ts) and the server (lib/artifacts/upload-auth.ts).
//
// Who may upload: accounts that could submit a proposal. The client signs an EIP-712
// UploadAuthorization {account, audience, expiry} for this chain and ModelRegistry, valid ≤ 1 h, and
// sends it as
//   Authorization: ModelDAO-Upload <base64url(JSON {account, audience, expiry, signature})>
// It is a bearer credential until expiry (not single-use), so a multi-file upload signs once. The
// audience is the origin of the server it is sent to, as in AccessRequest (lib/access/request.ts):
// a server refuses an authorization signed for another origin, so a gateway or server that sees
// the header cannot replay it to another server of the same DAO. Authorizations from clients older
// than the audience field are refused (audience_required) rather than accepted unbound.

export const UPLOAD_AUTH_SCHEME = 'ModelDAO-Upload';
/** The server refuses an expiry further ahead than this. */
export const MAX_UPLOAD_AUTH_LIFETIME_SECONDS = 3600;
/** What clients ask for. */
export const DEFAULT_UPLOAD_AUTH_LIFETIME_SECONDS = 30 * 60;

export const uploadAuthorizationTypes = {
  UploadAuthorization: [
    { name: 'account', type: 'address' },
    { name: 'audience', type: 'string' },
    { name: 'expiry', type: 'uint256' },
  ],
} as const;

export function uploadDomain(chainId: number, registry: Address) {
  return { name: 'modeldao', version: '1', chainId, verifyingContract: registry } as const;
}

export interface UploadAuthorization {
  account: Address;
  /** Origin of the server the authorization is for (`uploadAudience(serverUrl)`). */
  audience: string;
  /** unix seconds */
  expiry: number;
  signature: Hex;
}

export type UploadTypedData = ReturnType<typeof uploadTypedData>;

export function uploadTypedData(chainId: number, registry: Address, account: Address, audience: string, expiry: number) {
  return {
    domain: uploadDomain(chainId, registry),
    types: uploadAuthorizationTypes,
    primaryType: 'UploadAuthorization' as const,
    message: { account, audience, expiry: BigInt(expiry) },
  };
}

/**
 * The audience a client signs for the server at `url`: its origin (scheme, host, port; lowercase, no
 * default port, no path) — the same normal form as an AccessRequest's audience.
 */
export function uploadAudience(url: string): string {
  return new URL(url).origin;
}

/**
 * Why an upload authorization was refused. A domain error: lib/server maps it to HTTP
 * (lib/server/domain-errors.ts: 401 with WWW-Authenticate, 403, 502).
 */
export type UploadAuthErrorCode =
  | 'upload_authorization_required'
  | 'invalid_upload_authorization'
  | 'upload_authorization_expired'
  | 'upload_authorization_too_long'
  | 'audience_required'
  | 'wrong_audience'
  | 'invalid_signature'
  | 'insufficient_voting_power'
  | 'chain_unavailable';

export class UploadAuthError extends Error {
  constructor(
    readonly code: UploadAuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UploadAuthError';
  }
}

/** Anything that can sign typed data: a viem LocalAccount or a WalletClient bound to an account. */
export interface TypedDataSigner {
  signTypedData(args: UploadTypedData): Promise<Hex>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Signs an authorization and returns the Authorization header value. */
export async function signUploadAuthorization(
  signer: TypedDataSigner,
  o: { account: Address; chainId: number; registry: Address; /** the server's URL or origin */ audience: string; expiry?: number },
): Promise<string> {
  const expiry = o.expiry ?? nowSeconds() + DEFAULT_UPLOAD_AUTH_LIFETIME_SECONDS;
  const audience = uploadAudience(o.audience);
  const signature = await signer.signTypedData(uploadTypedData(o.chainId, o.registry, o.account, audience, expiry));
  return encodeUploadAuthorization({ account: o.account, audience, expiry, signature });
}

function base64urlEncode(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64urlDecode(s: string): string {
  if (!/^[A-Za-z0-9_+/-]*={0,2}$/.test(s)) throw new Error('not base64url');
  const b64 = s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The Authorization header value for a signed authorization. */
export function encodeUploadAuthorization(a: UploadAuthorization): string {
  return `${UPLOAD_AUTH_SCHEME} ${base64urlEncode(JSON.stringify({ account: a.account, audience: a.audience, expiry: a.expiry, signature: a.signature }))}`;
}

/**
 * Parses an Authorization header value; null when it is not a ModelDAO-Upload authorization at all.
 * Throws UploadAuthError('invalid_upload_authorization') when it is one but malformed, and
 * UploadAuthError('audience_required') when it was signed by a client older than the audience field.
 */
export function decodeUploadAuthorization(header: string | undefined): UploadAuthorization | null {
  if (!header || !header.startsWith(`${UPLOAD_AUTH_SCHEME} `)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(base64urlDecode(header.slice(UPLOAD_AUTH_SCHEME.length + 1).trim()));
  } catch {
    throw new UploadAuthError('invalid_upload_authorization', 'upload authorization is not base64url JSON');
  }
  const p = parsed as Record<string, unknown>;
  if (
    !p ||
    typeof p.account !== 'string' ||
    !isAddress(p.account, { strict: false }) ||
    typeof p.expiry !== 'number' ||
    !Number.isSafeInteger(p.expiry) ||
    typeof p.signature !== 'string' ||
    !isHex(p.signature)
  ) {
    throw new UploadAuthError('invalid_upload_authorization', 'upload authorization needs {account, audience, expiry, signature}');
  }
  if (p.audience === undefined) {
    throw new UploadAuthError(
      'audience_required',
      'upload authorizations must name their audience (the origin of the server they are sent to); upgrade the client: the modeldao SDK, CLI and web app sign UploadAuthorization with an audience field',
    );
  }
  if (typeof p.audience !== 'string' || p.audience.length > 512) {
    throw new UploadAuthError('invalid_upload_authorization', 'upload authorization audience must be a string of at most 512 characters');
  }
  return { account: getAddress(p.account), audience: p.audience, expiry: p.expiry, signature: p.signature as Hex };
}
