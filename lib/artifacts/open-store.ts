import type { Env } from '../env.ts';
import { S3ArtifactStore } from './s3-store.ts';
import { LocalArtifactStore, type ArtifactStore } from './store.ts';

export type AnyArtifactStore = LocalArtifactStore | S3ArtifactStore;

/** The store `STORE` names: the local disk store under MODELDAO_DATA_DIR, or the S3 bucket (orphans swept on open). */
export async function openArtifactStore(
  env: Pick<
    Env,
    | 'STORE'
    | 'storeDir'
    | 'S3_BUCKET'
    | 'S3_PREFIX'
    | 'S3_ENDPOINT'
    | 'S3_REGION'
    | 'S3_ACCESS_KEY_ID'
    | 'S3_SECRET_ACCESS_KEY'
    | 'S3_FORCE_PATH_STYLE'
    | 'S3_ORPHAN_AGE_SECONDS'
  >,
): Promise<AnyArtifactStore> {
  if (env.STORE !== 's3') return LocalArtifactStore.open(env.storeDir);
  return S3ArtifactStore.open({
    bucket: env.S3_BUCKET!,
    prefix: env.S3_PREFIX,
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    orphanAgeMs: env.S3_ORPHAN_AGE_SECONDS * 1000,
  });
}

/** Where the blobs are, for log lines. */
export function describeStore(store: ArtifactStore): string {
  if (store instanceof S3ArtifactStore) return `s3 ${store.options.endpoint ?? 'aws'}/${store.bucket}/${store.prefix}`;
  if (store instanceof LocalArtifactStore) return store.root;
  return 'custom';
}

export function closeArtifactStore(store: ArtifactStore): void {
  if (store instanceof S3ArtifactStore) store.close();
}
