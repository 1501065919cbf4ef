import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recoverTypedDataAddress, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  decodeUploadAuthorization,
  encodeUploadAuthorization,
  signUploadAuthorization,
  UploadAuthError,
  uploadTypedData,
} from '../../lib/artifacts/upload-auth-format.ts';
import { createRenewingUploadAuth } from '../../lib/artifacts/upload-auth-renewal.ts';
import { asHttpError } from '../../lib/server/http.ts';

const account = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5d3f9d2c2a5b0f0b7b0b' as Hex);
const registry = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const;

describe('the upload-authorization format (one module for browser, SDK and server)', () => {
  it('has no node-only import and no Buffer, so the browser bundles the same code', () => {
    for (const f of ['lib/artifacts/upload-auth-format.ts', 'lib/artifacts/upload-auth-renewal.ts']) {
      const src = fs.readFileSync(f, 'utf8');
      expect(src).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\bprocess\./);
      expect(src).not.toMatch(/from ['"][^'"]*server\//); // and never the HTTP layer
    }
  });

  it('signs an EIP-712 UploadAuthorization bound to its audience (the server origin) that the account recovers from, and the header decodes back', async () => {
    const header = await signUploadAuthorization(account, {
      account: account.address,
      chainId: 31337,
      registry,
      audience: 'HTTPS://Models.Example.org:443/api/uploads',
      expiry: 1_900_000_000,
    });
    expect(header).toMatch(/^ModelDAO-Upload [A-Za-z0-9_-]+$/);
    const a = decodeUploadAuthorization(header)!;
    // signed in its origin form, as AccessRequest's audience
    expect(a).toMatchObject({ account: account.address, audience: 'https://models.example.org', expiry: 1_900_000_000 });
    const signer = await recoverTypedDataAddress({ ...uploadTypedData(31337, registry, a.account, a.audience, a.expiry), signature: a.signature });
    expect(signer).toBe(account.address);
    // the audience is part of what is signed: the same signature names no one for another origin
    const other = await recoverTypedDataAddress({
      ...uploadTypedData(31337, registry, a.account, 'https://other.example.org', a.expiry),
      signature: a.signature,
    });
    expect(other).not.toBe(account.address);
  });

  it('an authorization from a client older than the audience field is refused as audience_required (400), a wrong one as wrong_audience (401)', () => {
    const old = `ModelDAO-Upload ${Buffer.from(JSON.stringify({ account: account.address, expiry: 42, signature: '0x1234' })).toString('base64url')}`;
    expect(() => decodeUploadAuthorization(old)).toThrow(expect.objectContaining({ code: 'audience_required' }));
    expect(asHttpError(new UploadAuthError('audience_required', 'x'))!.status).toBe(400);
    expect(asHttpError(new UploadAuthError('wrong_audience', 'x'))!.status).toBe(401);
    const notString = `ModelDAO-Upload ${Buffer.from(JSON.stringify({ account: account.address, audience: 7, expiry: 42, signature: '0x1234' })).toString('base64url')}`;
    expect(() => decodeUploadAuthorization(notString)).toThrow(expect.objectContaining({ code: 'invalid_upload_authorization' }));
  });

  it('encodes as the node servers before it did (base64url JSON, no padding), non-ASCII safe', () => {
    const a = { account: account.address, audience: 'https://modèles.example', expiry: 42, signature: '0x1234' as Hex };
    const header = encodeUploadAuthorization(a);
    expect(header).toBe(`ModelDAO-Upload ${Buffer.from(JSON.stringify(a)).toString('base64url')}`);
    // a header made by another client with standard padding still decodes
    expect(decodeUploadAuthorization(`ModelDAO-Upload ${Buffer.from(JSON.stringify(a)).toString('base64')}`)).toEqual(a);
  });

  it('is null for another scheme and a domain error (never an HTTP one) for a malformed one', () => {
    expect(decodeUploadAuthorization(undefined)).toBeNull();
    expect(decodeUploadAuthorization('Bearer abc')).toBeNull();
    for (const bad of ['ModelDAO-Upload !!!', `ModelDAO-Upload ${btoa('{"account":"0x1"}')}`, `ModelDAO-Upload ${btoa('[]')}`]) {
      let err: unknown;
      try {
        decodeUploadAuthorization(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UploadAuthError);
      expect((err as UploadAuthError).code).toBe('invalid_upload_authorization');
    }
  });

  it('lib/server maps the domain errors to 401 with WWW-Authenticate, 403 and 502', () => {
    const h = asHttpError(new UploadAuthError('upload_authorization_expired', 'expired'))!;
    expect([h.status, h.code, h.message, h.headers['www-authenticate']]).toEqual([
      401,
      'upload_authorization_expired',
      'expired',
      'ModelDAO-Upload realm="modeldao"',
    ]);
    expect(asHttpError(new UploadAuthError('insufficient_voting_power', 'x'))!.status).toBe(403);
    expect(asHttpError(new UploadAuthError('insufficient_voting_power', 'x'))!.headers).toEqual({});
    expect(asHttpError(new UploadAuthError('chain_unavailable', 'x'))!.status).toBe(502);
    expect(asHttpError(new Error('other'))).toBeNull();
  });
});

describe('a renewing upload authorization (the web form: small uploads, sessions and the manifest)', () => {
  /** A clock both sides read, like a browser and a server with synchronised clocks. */
  function setup(o: { renewBeforeSeconds?: number } = {}) {
    let t = 1_800_000_000;
    const signed: number[] = [];
    const auth = createRenewingUploadAuth({
      now: () => t,
      sign: async (expiry) => {
        signed.push(expiry);
        return signUploadAuthorization(account, { account: account.address, chainId: 31337, registry, audience: 'http://127.0.0.1:3000', expiry });
      },
      ...o,
    });
    /** what the server's verifier checks first (lib/artifacts/upload-auth.ts): expiry > now */
    const serverAccepts = (h: Record<string, string>) => decodeUploadAuthorization(h.authorization)!.expiry > t;
    return { auth, signed, serverAccepts, advance: (s: number) => (t += s), now: () => t };
  }

  it('signs once for many requests while the authorization has time left', async () => {
    const s = setup();
    const a = await s.auth.headers();
    s.advance(10 * 60);
    const b = await s.auth.headers();
    expect(b).toEqual(a);
    expect(s.signed).toHaveLength(1);
    expect(s.signed[0]).toBe(s.now() - 10 * 60 + 30 * 60);
  });

  it('a form left open past 30 minutes still gets an authorization the server accepts (it was refused as expired before)', async () => {
    const s = setup();
    const first = await s.auth.headers(); // the files, at t0
    s.advance(31 * 60); // the manifest is stored 31 minutes later
    expect(s.serverAccepts(first)).toBe(false); // the cached header the form used to send
    const later = await s.auth.headers();
    expect(s.serverAccepts(later)).toBe(true);
    expect(s.signed).toHaveLength(2);
  });

  it('renews ahead of expiry, so a request does not start with seconds left', async () => {
    const s = setup({ renewBeforeSeconds: 300 });
    const first = await s.auth.headers();
    s.advance(30 * 60 - 299); // 299 s left: less than the margin
    const next = await s.auth.headers();
    expect(next).not.toEqual(first);
    expect(decodeUploadAuthorization(next.authorization)!.expiry - s.now()).toBe(30 * 60);
  });

  it('concurrent requests share one signature (one wallet prompt); renew() signs anew; a refused signature is not cached', async () => {
    const s = setup();
    const [a, b, c] = await Promise.all([s.auth.headers(), s.auth.headers(), s.auth.headers()]);
    expect(new Set([a, b, c].map((h) => h.authorization)).size).toBe(1);
    expect(s.signed).toHaveLength(1);
    s.advance(1);
    const renewed = await s.auth.renew();
    expect(renewed).not.toEqual(a);
    expect(s.signed).toHaveLength(2);

    let refuse = true;
    const r = createRenewingUploadAuth({
      sign: async (expiry) => {
        if (refuse) throw new Error('User rejected the request.');
        return signUploadAuthorization(account, { account: account.address, chainId: 31337, registry, audience: 'http://127.0.0.1:3000', expiry });
      },
    });
    await expect(r.headers()).rejects.toThrow('User rejected');
    refuse = false;
    await expect(r.headers()).resolves.toHaveProperty('authorization');
  });

  it('clear() forgets the authorization (another account connected)', async () => {
    const s = setup();
    await s.auth.headers();
    s.auth.clear();
    await s.auth.headers();
    expect(s.signed).toHaveLength(2);
  });
});
