// modeldao consumer SDK: everything trusts the chain (registry) for digests, never a gateway.
export { resolveApproved, type ApprovedVersion, type ResolveOptions, type AccessRuleInfo, type VersionStatus, type AccessKind } from './resolve.ts';
export { pull, defaultGateways, type PullOptions, type PullResult, type PullProgress, type PulledFile, type Origin } from './pull.ts';
export { verify, type VerifyOptions, type VerifyResult, type FileCheck } from './verify.ts';
export { requestAccess, type RequestAccessOptions } from './access.ts';
export { status, type ModelStatus, type VersionHistoryEntry } from './status.ts';
export { connectChain, type ChainOptions, type ChainConnection } from './chain.ts';
export { loadAccount } from './keys.ts';
export { ModelDaoError, EXIT_CODES, type ErrorKind } from './errors.ts';
export { defaultCacheDir } from './paths.ts';
export type { Manifest, ManifestFile } from './manifest.ts';
export { watch, type WatchOptions, type WatchUpdate } from './watch.ts';
export { streamEvents, SseParser, type ServerEvent, type EventStreamOptions } from './events.ts';
export { signWebhook, verifyWebhookSignature, type WebhookVerdict } from './webhooks.ts';
export { manifestCid } from './ipfs.ts';
