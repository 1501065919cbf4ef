import type { IncomingMessage } from 'node:http';
import type { Address, PublicClient } from 'viem';
import { modelGovernorAbi } from '../contracts/generated.ts';
import {
  decodeUploadAuthorization,
  MAX_UPLOAD_AUTH_LIFETIME_SECONDS,
  UPLOAD_AUTH_SCHEME,
  UploadAuthError,
  uploadAudience,
  uploadTypedData,
  type UploadAuthorization,
} from './upload-auth-format.ts';

// The server's side of upload authorization: the format (EIP-712 types, domain, header encoding)
// is lib/artifacts/upload-auth-format.ts, shared with the browser and the SDK. Refusals are
// UploadAuthError (a domain error); lib/server maps them to HTTP.

/** An audience in its origin form; anything unparsable stays as given (and matches no configured origin). */
function normalize(a: string): string {
  try {
    return uploadAudience(a);
  } catch {
    return a;
  }
}

/** Parses the request's header; null when the request carries no upload authorization at all. */
export function readUploadAuthorization(req: IncomingMessage): UploadAuthorization | null {
  return decodeUploadAuthorization(req.headers.authorization);
}

export interface UploadAuthDeps {
  publicClient: PublicClient;
  chainId: number;
  registry: Address;
  governor: Address;
  /**
   * Origins this server answers to (PUBLIC_BASE_URL's origin, then ACCESS_AUDIENCES, as for access
   * requests); an authorization signed for any other audience is refused. A function: the origin may
   * be known only once the server listens.
   */
  audiences: () => readonly string[];
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
      throw new UploadAuthError('chain_unavailable', `could not read voting power from the chain: ${String((err as Error).message).split('\n')[0]}`);
    }
    const entry = { at: t, ok: votes >= threshold, votes, threshold };
    mayPropose.set(key, entry);
    return entry;
  }

  /** Verifies the request's upload authorization; returns the (checksummed) account. */
  return async function verifyUpload(req: IncomingMessage): Promise<Address> {
    const audiences = deps.audiences().map(normalize);
    let auth: UploadAuthorization | null;
    try {
      auth = readUploadAuthorization(req);
    } catch (err) {
      if (err instanceof UploadAuthError && err.code === 'audience_required') {
        throw new UploadAuthError('audience_required', `${err.message}; this server's audience is ${audiences[0]}`);
      }
      throw err;
    }
    if (!auth) throw new UploadAuthError('upload_authorization_required', `uploads need "Authorization: ${UPLOAD_AUTH_SCHEME} <signed UploadAuthorization>"`);
    const t = now();
    if (auth.expiry <= t) throw new UploadAuthError('upload_authorization_expired', `upload authorization expired at ${auth.expiry} (now ${t})`);
    if (auth.expiry > t + MAX_UPLOAD_AUTH_LIFETIME_SECONDS) {
      throw new UploadAuthError('upload_authorization_too_long', `upload authorization expiry may be at most ${MAX_UPLOAD_AUTH_LIFETIME_SECONDS} s ahead`);
    }
    if (!audiences.includes(normalize(auth.audience))) {
      throw new UploadAuthError(
        'wrong_audience',
        `upload authorization was signed for ${JSON.stringify(auth.audience.slice(0, 200))}; this server is ${audiences.join(', ')}`,
      );
    }
    let valid = false;
    try {
      valid = await deps.publicClient.verifyTypedData({
        address: auth.account,
        // exactly the string that was signed (the check above compared its normal form)
        ...uploadTypedData(deps.chainId, deps.registry, auth.account, auth.audience, auth.expiry),
        signature: auth.signature,
        // An account's own ECDSA signature is checked locally; only when that does not recover the
        // account (a contract wallet: ERC-1271 / ERC-6492) does viem ask the chain. Saves one eth_call
        // (30–200 ms under load) on every upload request.
        mode: 'eoa',
      });
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new UploadAuthError(
        'invalid_signature',
        `signature is not ${auth.account}'s UploadAuthorization for chain ${deps.chainId}, registry ${deps.registry} and audience ${auth.audience}`,
      );
    }
    const power = await checkVotingPower(auth.account);
    if (!power.ok) {
      throw new UploadAuthError(
        'insufficient_voting_power',
        `${auth.account} has ${power.votes} votes; uploading needs the proposal threshold of ${power.threshold} (delegate to yourself first)`,
      );
    }
    return auth.account;
  };
}
