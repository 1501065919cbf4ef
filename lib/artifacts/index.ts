export { LocalArtifactStore, StoreError, SHA256_HEX } from './store.ts';
export { S3ArtifactStore, type S3StoreOptions } from './s3-store.ts';
export type { ArtifactStore, PutOptions, PutResult, BlobStat, ByteRange, StoreErrorCode } from './store.ts';
export { StreamingHasher, hashFile, hashBytes, sha256File } from './hash.ts';
export type { ContentHashes } from './hash.ts';
export { parseSafetensorsHeader, SafetensorsError, SafetensorsSniffer, buildSafetensors, MAX_HEADER_BYTES, DTYPE_BITS } from './safetensors.ts';
export type { SafetensorsSummary, SafetensorsTensor, SafetensorsRule } from './safetensors.ts';
