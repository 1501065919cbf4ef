import path from 'node:path';
import { z } from 'zod';

// The environment is validated once, here. next.config.mjs imports this module so that a bad
// environment fails the build (and `npm run dev`) with the variable's name.
// Never put a secret in a NEXT_PUBLIC_ variable: those are inlined into the browser bundle.

const port = z.coerce.number().int().min(1).max(65535);
const hexAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  ANVIL_PORT: port.default(8545),
  /** JSON-RPC endpoint of the chain. Defaults to the local anvil on ANVIL_PORT. */
  RPC_URL: z.string().url().optional(),
  CHAIN_ID: z.coerce.number().int().positive().default(31337),
  /** Deployment record written by contracts/script/Deploy.s.sol. */
  DEPLOYMENT_FILE: z.string().optional(),
  /** All local state (PGlite database, artifact store) lives under this directory. */
  MODELDAO_DATA_DIR: z.string().default('.modeldao'),
  /** postgres://… switches from embedded PGlite to PostgreSQL (same schema and migrations). */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** Public base URL the server advertises in blob URLs (defaults to http://HOST:PORT). */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /**
   * Further origins (comma-separated) signed access requests may name as their audience besides
   * PUBLIC_BASE_URL's, e.g. a second hostname of the same server. Never another server's.
   */
  ACCESS_AUDIENCES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: string[] = [];
      for (const item of (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        try {
          const u = new URL(item);
          if (!/^https?:$/.test(u.protocol) || u.pathname !== '/' || u.search || u.hash) throw new Error();
          out.push(u.origin);
        } catch {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(item)} is not an origin like https://models.example.org` });
        }
      }
      return out;
    }),
  UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 ** 3),
  UPLOAD_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600),
  UPLOAD_QUOTA_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024 ** 3),
  /** Most uploads (POST /api/uploads, session PATCHes) one account may have streaming at once; more → 429. */
  UPLOAD_MAX_CONCURRENT_PER_ACCOUNT: z.coerce.number().int().positive().default(4),
  /** A client must send a request's complete headers within this many seconds (slowloris). */
  REQUEST_HEADERS_TIMEOUT_SECONDS: z.coerce.number().positive().default(30),
  /**
   * A request body from which no byte arrives for this many seconds is cut: the connection is
   * closed, an upload's temp file removed and its quota reservation released.
   */
  REQUEST_BODY_IDLE_SECONDS: z.coerce.number().positive().default(60),
  /** Secret for signing short-lived access tokens. Generated per data dir when absent. */
  ACCESS_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  /** A token older than this is re-checked against canAccess on chain before serving. */
  ACCESS_RECHECK_SECONDS: z.coerce.number().int().positive().default(60),
  /** Blocks behind head the indexer treats as final enough to index (0 on anvil). */
  INDEXER_CONFIRMATIONS: z.coerce.number().int().min(0).optional(),
  INDEXER_POLL_MS: z.coerce.number().int().positive().default(1000),
  /** deepest reorg the indexer repairs by itself; deeper stops it loudly (default 64 blocks) */
  INDEXER_REORG_WINDOW: z.coerce.number().int().positive().optional(),
  /** eth_getLogs block range to start with and the most it grows to (the indexer adapts between) */
  INDEXER_INITIAL_RANGE: z.coerce.number().int().positive().optional(),
  INDEXER_MAX_RANGE: z.coerce.number().int().positive().optional(),
  GUARDIAN_ADDRESS: hexAddress.optional(),
  /** Where blobs live: `local` (default, MODELDAO_DATA_DIR/store) or `s3` (any S3-compatible bucket, S3_* below). */
  STORE: z.enum(['local', 's3']).default('local'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .optional(),
  /** Key prefix inside the bucket (e.g. `modeldao/`); several deployments may share a bucket. */
  S3_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9!_.*'()\/-]*$/, "may contain letters, digits and !_.*'()/- only")
    .default('')
    .transform((v) => (v && !v.endsWith('/') ? `${v}/` : v)),
  /** http(s)://host:port of a non-AWS endpoint (MinIO, Ceph RGW, Swift s3api, R2); AWS when absent. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** Both or neither; without them the AWS SDK's default credential chain applies. */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style URLs (endpoint/bucket/key), default true; `false` for virtual-hosted style. */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Incomplete multipart uploads and temp keys older than this are removed when a server starts (default 24 h). */
  S3_ORPHAN_AGE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(24 * 3600),
  /** GET /api/events: comment line sent to every client this often (keeps proxies from closing idle streams). */
  EVENTS_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  /** Unread bytes an SSE client may leave in its socket buffer before it is disconnected (it resumes with Last-Event-ID). */
  EVENTS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .default(1024 * 1024),
  /** Webhook subscriptions (admin config): a JSON list of {id, url, secret, models?, kinds?}. Outgoing requests go only to these URLs. */
  WEBHOOKS_FILE: z.string().optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Consecutive failed attempts after which a subscription is disabled (with the reason). */
  WEBHOOK_MAX_FAILURES: z.coerce.number().int().positive().default(20),
  /** Retry delay: first, doubling per attempt up to the max, with jitter. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().positive().default(1000),
  WEBHOOK_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 60_000),
});

export type Env = z.infer<typeof schema> & {
  rpcUrl: string;
  deploymentFile: string;
  dataDir: string;
  storeDir: string;
  pgliteDir: string;
  publicBaseUrl: string;
  /** Origins a signed access request may name as its audience: PUBLIC_BASE_URL's, then ACCESS_AUDIENCES. */
  accessAudiences: string[];
};

export class EnvError extends Error {}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new EnvError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = result.data;
  const storeIssues: string[] = [];
  if (e.STORE === 's3' && !e.S3_BUCKET) storeIssues.push('  S3_BUCKET: required when STORE=s3');
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    storeIssues.push('  S3_ACCESS_KEY_ID: set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither');
  }
  if (storeIssues.length) throw new EnvError(`Invalid environment:\n${storeIssues.join('\n')}`);
  const dataDir = path.resolve(e.MODELDAO_DATA_DIR);
  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/$/, '');
  const own = new URL(publicBaseUrl).origin;
  // Without PUBLIC_BASE_URL (local use) the server answers on 127.0.0.1 and localhost alike.
  const local = e.PUBLIC_BASE_URL === undefined && e.HOST === '127.0.0.1' ? [`http://localhost:${e.PORT}`] : [];
  return {
    ...e,
    rpcUrl: e.RPC_URL ?? `http://127.0.0.1:${e.ANVIL_PORT}`,
    deploymentFile: path.resolve(e.DEPLOYMENT_FILE ?? `contracts/deployments/${e.CHAIN_ID}.json`),
    dataDir,
    storeDir: path.join(dataDir, 'store'),
    pgliteDir: path.join(dataDir, 'pglite'),
    publicBaseUrl,
    accessAudiences: [...new Set([own, ...local, ...e.ACCESS_AUDIENCES])],
  };
}

let cached: Env | undefined;
/** The process environment, validated once. */
export function getEnv(): Env {
  cached ??= parseEnv();
  return cached;
}
