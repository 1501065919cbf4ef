import { DEFAULT_UPLOAD_AUTH_LIFETIME_SECONDS, decodeUploadAuthorization, UPLOAD_AUTH_SCHEME } from './upload-auth-format.ts';

// An upload authorization that renews itself (portable: browser and SDK). A signed authorization is
// reused for every request of a multi-file upload, but it expires (30 min); a form left open, or a
// long upload, must not send an expired one. `headers()` re-signs once less than `renewBeforeSeconds`
// of its lifetime is left, so every path (single-request uploads, resumable sessions, the manifest)
// gets a valid one, and `renew()` re-signs on demand (the server still said "expired": clock skew).

export interface RenewingUploadAuthOptions {
  /** Signs a new authorization expiring at `expiry` (unix s) and returns the Authorization header value. */
  sign: (expiry: number) => Promise<string>;
  /** unix seconds; injected in tests */
  now?: () => number;
  lifetimeSeconds?: number;
  /** re-sign when less than this is left (covers clock skew and the request's own duration) */
  renewBeforeSeconds?: number;
}

export interface RenewingUploadAuth {
  /** `{ authorization }` valid for at least `renewBeforeSeconds`, signing when needed (one signature for concurrent callers). */
  headers(): Promise<Record<string, string>>;
  /** Signs a new one now, whatever the cached one's expiry. */
  renew(): Promise<Record<string, string>>;
  /** Drops the cached one (another account connected). */
  clear(): void;
}

export function createRenewingUploadAuth(o: RenewingUploadAuthOptions): RenewingUploadAuth {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const lifetime = o.lifetimeSeconds ?? DEFAULT_UPLOAD_AUTH_LIFETIME_SECONDS;
  const margin = o.renewBeforeSeconds ?? 5 * 60;
  if (margin >= lifetime) throw new Error('renewBeforeSeconds must be shorter than the lifetime');
  let current: { header: string; expiry: number } | null = null;
  let signing: Promise<string> | null = null;
  let generation = 0;

  const sign = () => {
    if (signing) return signing;
    const gen = generation;
    const p = o.sign(now() + lifetime).then((header) => {
      const decoded = decodeUploadAuthorization(header);
      if (!decoded) throw new Error(`the signer returned no ${UPLOAD_AUTH_SCHEME} authorization`);
      if (gen === generation) current = { header, expiry: decoded.expiry };
      return header;
    });
    signing = p;
    const done = () => {
      if (signing === p) signing = null;
    };
    p.then(done, done);
    return p;
  };

  return {
    async headers() {
      const c = current;
      if (c && c.expiry - now() > margin) return { authorization: c.header };
      return { authorization: await sign() };
    },
    async renew() {
      current = null;
      return { authorization: await sign() };
    },
    clear() {
      generation++;
      current = null;
      signing = null;
    },
  };
}
