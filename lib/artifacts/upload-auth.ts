import type { IncomingMessage } from 'node:http';
import { getAddress, isAddress, isHex, type Address, type Hex, type PublicClient } from 'viem';
import { modelGovernorAbi } from '../contracts/generated.ts';
import { HttpError } from '../server/http.ts';

// Who may upload: accounts that could submit a proposal (governor voting power at clock()-1 ≥
// proposalThreshold()). The client signs an EIP-712 UploadAuthorization {account, expiry} for this
// chain and ModelRegistry, valid ≤ 1 h, and sends it as
//   Authorization: ModelDAO-Upload <base64url(JSON {account, expiry, signature})>
// It is a bearer credential until expiry (not single-use), so a multi-file upload signs once.

export const UPLOAD_AUTH_SCHEME = 'ModelDAO-Upload';
export const MAX_UPLOAD_AUTH_LIFETIME_SECONDS = 3600;

export const uploadAuthorizationTypes = {
  UploadAuthorization: [
    { name: 'account', type: 'address' },
    { name: 'expiry', type: 'uint256' },
  ],
} as const;

export function uploadDomain(chainId: number, registry: Address) {
  return { name: 'modeldao', version: '1', chainId, verifyingContract: registry } as const;
}

export interface UploadAuthorization {
  account: Address;
  /** unix seconds */
  expiry: number;
  signature: Hex;
}

export function uploadTypedData(chainId: number, registry: Address, account: Address, expiry: number) {
  return {
    domain: uploadDomain(chainId, registry),
    types: uploadAuthorizationTypes,
    primaryType: 'UploadAuthorization' as const,
    message: { account, expiry: BigInt(expiry) },
  };
}

/** Anything that can sign typed data: a viem LocalAccount or a WalletClient bound to an account. */
export interface TypedDataSigner {
  signTypedData(args: ReturnType<typeof uploadTypedData>): Promise<Hex>;
}

/** Signs an authorization and returns the Authorization header value. */
export async function signUploadAuthorization(
  signer: TypedDataSigner,
  o: { account: Address; chainId: number; registry: Address; expiry?: number },
): Promise<string> {
  const expiry = o.expiry ?? Math.floor(Date.now() / 1000) + 30 * 60;
  const signature = await signer.signTypedData(uploadTypedData(o.chainId, o.registry, o.account, expiry));
  return encodeUploadAuthorization({ account: o.account, expiry, signature });
}

export function encodeUploadAuthorization(a: UploadAuthorization): string {
  return `${UPLOAD_AUTH_SCHEME} ${Buffer.from(JSON.stringify(a)).toString('base64url')}`;
}

const unauthorized = (code: string, message: string) =>
  new HttpError(401, code, message, { 'www-authenticate': `${UPLOAD_AUTH_SCHEME} realm="modeldao"` });

/** Parses the header; null when the request carries no upload authorization at all. */
export function readUploadAuthorization(req: IncomingMessage): UploadAuthorization | null {
  const header = req.headers.authorization;
  if (!header || !header.startsWith(`${UPLOAD_AUTH_SCHEME} `)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header.slice(UPLOAD_AUTH_SCHEME.length + 1).trim(), 'base64url').toString('utf8'));
  } catch {
    throw unauthorized('invalid_upload_authorization', 'upload authorization is not base64url JSON');
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
    throw unauthorized('invalid_upload_authorization', 'upload authorization needs {account, expiry, signature}');
  }
  return { account: getAddress(p.account), expiry: p.expiry, signature: p.signature as Hex };
}

export interface UploadAuthDeps {
  publicClient: PublicClient;
  chainId: number;
  registry: Address;
  governor: Address;
  now?: () => number;
  /** How long a "may propose" answer from the chain is reused per account. */
  votesCacheSeconds?: number;
}

export function createUploadAuthVerifier(deps: UploadAuthDeps) {
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const cacheSeconds = deps.votesCacheSeconds ?? 15;
  const mayPropose = new Map<string, { at: number; ok: boolean; votes: bigint; threshold: bigint }>();

  async function checkVotingPower(account: Address) {
    const key = account.toLowerCase();
    const t = now();
    const hit = mayPropose.get(key);
    if (hit && t - hit.at < cacheSeconds) return hit;
    let votes: bigint;
    let threshold: bigint;
    try {
      const clock = await deps.publicClient.readContract({ address: deps.governor, abi: modelGovernorAbi, functionName: 'clock' });
      [votes, threshold] = await Promise.all([
        deps.publicClient.readContract({ address: deps.governor, abi: modelGovernorAbi, functionName: 'getVotes', args: [account, BigInt(clock) - 1n] }),
        deps.publicClient.readContract({ address: deps.governor, abi: modelGovernorAbi, functionName: 'proposalThreshold' }),
      ]);
    } catch (err) {
      throw new HttpError(502, 'chain_unavailable', `could not read voting power from the chain: ${String((err as Error).message).split('\n')[0]}`);
    }
    const entry = { at: t, ok: votes >= threshold, votes, threshold };
    mayPropose.set(key, entry);
    return entry;
  }

  /** Verifies the request's upload authorization; returns the (checksummed) account. */
  return async function verifyUpload(req: IncomingMessage): Promise<Address> {
    const auth = readUploadAuthorization(req);
    if (!auth) throw unauthorized('upload_authorization_required', `uploads need "Authorization: ${UPLOAD_AUTH_SCHEME} <signed UploadAuthorization>"`);
    const t = now();
    if (auth.expiry <= t) throw unauthorized('upload_authorization_expired', `upload authorization expired at ${auth.expiry} (now ${t})`);
    if (auth.expiry > t + MAX_UPLOAD_AUTH_LIFETIME_SECONDS) {
      throw unauthorized('upload_authorization_too_long', `upload authorization expiry may be at most ${MAX_UPLOAD_AUTH_LIFETIME_SECONDS} s ahead`);
    }
    let valid = false;
    try {
      valid = await deps.publicClient.verifyTypedData({
        address: auth.account,
        ...uploadTypedData(deps.chainId, deps.registry, auth.account, auth.expiry),
        signature: auth.signature,
      });
    } catch {
      valid = false;
    }
    if (!valid) {
      throw unauthorized('invalid_signature', `signature is not ${auth.account}'s UploadAuthorization for chain ${deps.chainId} and registry ${deps.registry}`);
    }
    const power = await checkVotingPower(auth.account);
    if (!power.ok) {
      throw new HttpError(403, 'insufficient_voting_power', `${auth.account} has ${power.votes} votes; uploading needs the proposal threshold of ${power.threshold} (delegate to yourself first)`);
    }
    return auth.account;
  };
}
