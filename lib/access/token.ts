import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Address } from 'viem';

// Short-lived bearer tokens for gated downloads: HMAC-SHA256 over
// (account, modelId, chainId, registry, issuedAt, expiresAt). Stateless: any server process holding
// the secret can check one without a database read.

export interface AccessTokenClaims {
  account: Address;
  modelId: bigint;
  chainId: number;
  registry: Address;
  /** Unix seconds. */
  issuedAt: number;
  expiresAt: number;
}

const VERSION = 'mdt1';

function b64url(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

export function signAccessToken(secret: Buffer, claims: AccessTokenClaims): string {
  const payload = [
    VERSION,
    claims.account.toLowerCase(),
    claims.modelId.toString(),
    claims.chainId,
    claims.registry.toLowerCase(),
    claims.issuedAt,
    claims.expiresAt,
  ].join('.');
  const mac = crypto.createHmac('sha256', secret).update(payload).digest();
  return `${b64url(payload)}.${b64url(mac)}`;
}

/** Returns the claims when the MAC is valid (expiry is the caller's business), otherwise null. */
export function readAccessToken(secret: Buffer, token: string): AccessTokenClaims | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 1024) return null;
  const payload = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = crypto.createHmac('sha256', secret).update(payload).digest();
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  const parts = payload.split('.');
  if (parts.length !== 7 || parts[0] !== VERSION) return null;
  const [, account = '', modelId = '', chainId = '', registry = '', issuedAt = '', expiresAt = ''] = parts; // length checked above
  if (!/^0x[0-9a-f]{40}$/.test(account) || !/^0x[0-9a-f]{40}$/.test(registry) || !/^\d+$/.test(modelId)) return null;
  return {
    account: account as Address,
    modelId: BigInt(modelId),
    chainId: Number(chainId),
    registry: registry as Address,
    issuedAt: Number(issuedAt),
    expiresAt: Number(expiresAt),
  };
}

/**
 * The HMAC secret: ACCESS_TOKEN_SECRET when set, otherwise 32 random bytes generated once and kept in
 * <dataDir>/access-token.secret (mode 0600), so tokens survive a restart of the same deployment.
 */
export function loadAccessSecret(opts: { secret?: string; dataDir: string }): Buffer {
  if (opts.secret) return Buffer.from(opts.secret, 'utf8');
  const file = path.join(opts.dataDir, 'access-token.secret');
  // An empty or damaged file (e.g. a crash between creating and writing it) would make a weak or
  // empty HMAC key: anyone could mint tokens. Refuse it instead.
  const parse = (text: string) => {
    const hex = text.trim();
    if (!/^[0-9a-f]{64}$/i.test(hex)) {
      throw new Error(`${file} does not hold a 32-byte hex secret; delete it (outstanding access tokens become invalid) or set ACCESS_TOKEN_SECRET`);
    }
    return Buffer.from(hex, 'hex');
  };
  try {
    return parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const fresh = crypto.randomBytes(32).toString('hex');
  try {
    // 'wx': if another process won the race, read its secret instead of overwriting it.
    fs.writeFileSync(file, fresh + '\n', { flag: 'wx', mode: 0o600 });
    return Buffer.from(fresh, 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parse(fs.readFileSync(file, 'utf8'));
  }
}
