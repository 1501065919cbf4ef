import type { IncomingMessage } from 'node:http';
import type { Address, PublicClient } from 'viem';
import type { AnyDb } from './catalog.ts';
import type { InvalidationBus } from '../../db/notify.ts';
import type { ArtifactStore } from './store.ts';
import { createUploadAuthVerifier } from './upload-auth.ts';
import { tokenFromRequest } from '../access/service.ts';

/**
 * Access hook for blobs of gated models: resolves when the request may read a blob that belongs to
 * (at least one of) `modelIds`, throws HttpError 401/403 otherwise. Supplied by lib/access.
 */
export type CheckAccess = (req: IncomingMessage, input: { modelIds: bigint[] }) => Promise<void>;

/** What the upload, manifest and blob routes need from ServerContext. */
export interface ArtifactRoutesContext {
  env: { UPLOAD_MAX_BYTES: number; UPLOAD_TTL_SECONDS: number; UPLOAD_QUOTA_BYTES: number; UPLOAD_MAX_CONCURRENT_PER_ACCOUNT?: number };
  deployment: { chainId: number; contracts: { ModelRegistry: Address; ModelGovernor: Address } };
  publicClient: PublicClient;
  db: AnyDb;
  store: ArtifactStore;
  /** Explicit access hook; when absent, `access.checkBlobAccess` with the request's bearer token is used. */
  checkAccess?: CheckAccess;
  access?: { checkBlobAccess(input: { token: string | undefined; modelIds: bigint[] }): Promise<unknown>; audiences?(): readonly string[] };
  /**
   * Origins a signed upload authorization may name as its audience; defaults to the access service's
   * (PUBLIC_BASE_URL's origin, then ACCESS_AUDIENCES: one list for both kinds of signed request).
   */
  uploadAudiences?: () => readonly string[];
  /** Override of the EIP-712 upload authorization check (returns the account). */
  verifyUpload?: (req: IncomingMessage) => Promise<Address>;
  /** Tells the other app servers on the database to drop caches (db/notify.ts); absent: this process only. */
  invalidation?: Pick<InvalidationBus, 'publish'>;
}

const verifiers = new WeakMap<object, (req: IncomingMessage) => Promise<Address>>();

export function uploadVerifier(ctx: ArtifactRoutesContext): (req: IncomingMessage) => Promise<Address> {
  if (ctx.verifyUpload) return ctx.verifyUpload;
  let v = verifiers.get(ctx.publicClient);
  if (!v) {
    const audiences = ctx.uploadAudiences ?? (ctx.access?.audiences ? () => ctx.access!.audiences!() : null);
    if (!audiences) throw new Error('no upload audiences configured (uploadAudiences or access.audiences)');
    v = createUploadAuthVerifier({
      audiences,
      publicClient: ctx.publicClient,
      chainId: ctx.deployment.chainId,
      registry: ctx.deployment.contracts.ModelRegistry,
      governor: ctx.deployment.contracts.ModelGovernor,
    });
    verifiers.set(ctx.publicClient, v);
  }
  return v;
}

export function accessChecker(ctx: ArtifactRoutesContext): CheckAccess {
  if (ctx.checkAccess) return ctx.checkAccess;
  const access = ctx.access;
  if (access) return async (req, { modelIds }) => void (await access.checkBlobAccess({ token: tokenFromRequest(req), modelIds }));
  return async () => {
    throw new Error('no access checker configured for gated models');
  };
}
