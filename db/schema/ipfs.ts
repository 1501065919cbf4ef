import { pgTable, text, integer, bigint, boolean, timestamp, primaryKey, index, customType } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * Blobs whose IPFS DAG is indexed (lib/ipfs/dag.ts): the unixfs-v1-2025 root and how many blocks.
 * A blob row without one is backfilled (one hashing pass) at start-up.
 */
export const ipfsDag = pgTable('ipfs_dag', {
  blobSha256: text('blob_sha256').primaryKey(),
  rootCid: text('root_cid').notNull(),
  blocks: integer('blocks').notNull(),
  indexedAt: timestamp('indexed_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Every block of every indexed blob, keyed by multihash (hex of the multihash bytes, so a CIDv0 or a
 * CIDv1 of either codec finds it). Leaves (raw, 0x55) are byte ranges of the blob file, never copied;
 * dag-pb nodes (0x70) keep their bytes (≈ 50 KB per GiB). The same block in several blobs has one
 * row per blob: access is decided per blob.
 */
export const ipfsBlock = pgTable(
  'ipfs_block',
  {
    multihash: text('multihash').notNull(),
    blobSha256: text('blob_sha256').notNull(),
    codec: integer('codec').notNull(),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    length: integer('length').notNull(),
    node: bytea('node'),
    repeats: boolean('repeats').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.multihash, t.blobSha256] }), index('ipfs_block_blob_idx').on(t.blobSha256)],
);
