import { bigint, boolean, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

// Artifact store index (lib/artifacts, lib/manifest, lib/server/routes/{uploads,manifests,blobs}).
// The bytes live in the store under their sha256; these rows say who uploaded what, until when an
// unpinned blob is kept, and which manifests reference which files. Pinning derives from the
// indexer's model_version rows (lib/artifacts/pins.ts): a blob referenced by a published version —
// any status, revoked included — is pinned and never collected by the TTL GC.

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const blob = pgTable(
  'blob',
  {
    /** bare lowercase hex */
    sha256: text('sha256').primaryKey(),
    size: bigint('size', { mode: 'number' }).notNull(),
    cid: text('cid').notNull(),
    /** 'file' (uploaded) | 'manifest' (canonical manifest bytes) */
    kind: text('kind').notNull(),
    /** first uploader, lowercase 0x address (null for manifests stored without an account) */
    uploader: text('uploader'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    /** unpinned blobs past this time are collected by `npm run gc`; null while pinned */
    expiresAt: tstz('expires_at'),
    pinned: boolean('pinned').notNull().default(false),
    /** safetensors summary (parameter counts, tensor list) when the file is safetensors */
    safetensors: jsonb('safetensors'),
  },
  (t) => [index('blob_gc_idx').on(t.pinned, t.expiresAt)],
);

/** Every account that uploaded a blob: staging visibility and per-account quota of unpinned bytes. */
export const blobUpload = pgTable(
  'blob_upload',
  {
    sha256: text('sha256').notNull(),
    account: text('account').notNull(),
    uploadedAt: tstz('uploaded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sha256, t.account] }), index('blob_upload_account_idx').on(t.account)],
);

export const manifest = pgTable(
  'manifest',
  {
    /** `0x…` lowercase, the same form as model_version.manifest_digest; bytes are blob(sha256 = digest) */
    digest: text('digest').primaryKey(),
    model: text('model').notNull(),
    /** `0x…` or null */
    parent: text('parent'),
    /** the canonical (RFC 8785) JSON text */
    canonical: text('canonical').notNull(),
    submittedBy: text('submitted_by'),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [index('manifest_model_idx').on(t.model)],
);

/** manifest → file blobs it lists */
export const blobRef = pgTable(
  'blob_ref',
  {
    manifestDigest: text('manifest_digest').notNull(),
    path: text('path').notNull(),
    fileSha256: text('file_sha256').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.manifestDigest, t.path] }), index('blob_ref_file_idx').on(t.fileSha256)],
);

/**
 * Resumable uploads in progress (POST/PATCH /api/uploads/sessions). The bytes received so far are
 * the store's `sessions/<id>.part` file; its size is the session's offset (it survives a restart).
 * The session's declared length counts against the account's quota until it finishes or expires.
 */
export const uploadSession = pgTable(
  'upload_session',
  {
    id: text('id').primaryKey(),
    /** lowercase 0x address */
    account: text('account').notNull(),
    length: bigint('length', { mode: 'number' }).notNull(),
    /** bare hex sha256 the client declared, checked when the last byte arrives */
    expectedSha256: text('expected_sha256'),
    fileName: text('file_name'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    /** moved on by every PATCH; an expired session and its bytes are deleted */
    expiresAt: tstz('expires_at').notNull(),
    /**
     * Set when the last byte arrived and the file became this blob: the session then answers with
     * the blob (a client whose last response was lost learns the result) until it expires.
     */
    resultSha256: text('result_sha256'),
  },
  (t) => [index('upload_session_account_idx').on(t.account), index('upload_session_expires_idx').on(t.expiresAt)],
);
