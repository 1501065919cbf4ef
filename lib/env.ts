import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ANVIL_RELAYER_KEY, DEV_CHAIN_ID, Secret } from './relay/secret.ts';

// The environment is validated once, here. next.config.mjs imports this module so that a bad
// environment fails the build (and `npm run dev`) with the variable's name.
// Never put a secret in a NEXT_PUBLIC_ variable: those are inlined into the browser bundle.

const port = z.coerce.number().int().min(1).max(65535);
const hexAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');

/**
 * A comma-separated multiaddr list (the embedded IPFS node has only the TCP transport). Checked for
 * shape here; libp2p parses them fully at start.
 */
function multiaddrList(name: string, opts: { tcp: boolean; peerId?: boolean }) {
  const re = /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/[1-9A-HJ-NP-Za-km-z]{32,})?$/;
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: string[] = [];
      for (const item of (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = re.exec(item);
        if (!m || (opts.peerId && !m[2])) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `${JSON.stringify(item.slice(0, 200))} (${name}) is not a TCP multiaddr like /ip4/127.0.0.1/tcp/4001${opts.peerId ? '/p2p/<peer id>' : ''}`,
          });
        } else out.push(item);
      }
      return out;
    });
}

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
  /**
   * Gasless votes and delegations (POST /api/relay/*): on by default for the local dev chain
   * (chain id 31337, paid by an anvil account), off otherwise unless set to true with a key.
   */
  RELAY_ENABLED: z.enum(['true', 'false', '1', '0']).optional(),
  /** The relayer's private key (0x + 64 hex). Server secret: never logged, never NEXT_PUBLIC_. */
  RELAY_PRIVATE_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex digits')
    .optional(),
  /** A file holding the relayer's private key (alternative to RELAY_PRIVATE_KEY). */
  RELAY_PRIVATE_KEY_FILE: z.string().optional(),
  /** Relayed requests one account may make per UTC day (votes and delegations together). */
  RELAY_ACCOUNT_DAILY_LIMIT: z.coerce.number().int().min(0).default(20),
  /** Relayed votes one proposal may receive in total. */
  RELAY_PROPOSAL_LIMIT: z.coerce.number().int().min(0).default(10_000),
  /** Highest max fee per gas the relayer pays, in gwei (decimal allowed); above it requests are refused. */
  RELAY_MAX_GAS_PRICE_GWEI: z.coerce.number().positive().default(100),
  /** Wei the relayer may spend per UTC day (reserved at gas limit × max fee before sending). */
  RELAY_DAILY_BUDGET_WEI: z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number of wei')
    .default('1000000000000000000'),
  /** Which proposals qualify for relayed votes: `all`, `none`, or comma-separated proposal ids. */
  RELAY_PROPOSALS: z
    .string()
    .default('all')
    .refine((v) => /^(all|none|[0-9]+(\s*,\s*[0-9]+)*)$/.test(v.trim()), 'must be all, none or comma-separated proposal ids'),
  /** A relayed transaction not mined after this many seconds is replaced (same nonce, fees +25%). */
  RELAY_STUCK_SECONDS: z.coerce.number().positive().default(30),
  /** How often pending relayed transactions are checked. */
  RELAY_POLL_MS: z.coerce.number().int().positive().default(500),
  /**
   * Embedded IPFS node (lib/ipfs/node.ts), off unless set: comma-separated TCP multiaddrs it listens
   * on, e.g. /ip4/0.0.0.0/tcp/4001. It provides exactly the public, approved, non-revoked blocks.
   */
  IPFS_LISTEN: multiaddrList('IPFS_LISTEN', { tcp: true }),
  /** Multiaddrs other peers should dial (pinning-service `origins`); default: the listen addresses. */
  IPFS_ANNOUNCE: multiaddrList('IPFS_ANNOUNCE', { tcp: true }),
  /** Peers to connect to at start (multiaddrs ending in /p2p/<peer id>). Default: none (offline). */
  IPFS_BOOTSTRAP: multiaddrList('IPFS_BOOTSTRAP', { tcp: true, peerId: true }),
  /** Amino DHT (kad-dht, server mode) for finding and announcing providers. Default off. */
  IPFS_DHT: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('off')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  /**
   * Remote pinning (IPFS Pinning Service API 1.0): a JSON file listing the operator's services,
   * [{"name": "...", "endpoint": "https://…", "token": "…"}]. Read and checked at start
   * (loadPinningServices); the tokens stay in the server process and never appear in logs or answers.
   */
  PINNING_SERVICES_FILE: z.string().optional(),
  /** A call to a pinning service that takes longer is abandoned (and retried). */
  PINNING_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** Retry delay after a failed call: first, doubling per failure up to the max, with jitter. */
  PINNING_RETRY_BASE_MS: z.coerce.number().int().positive().default(2000),
  PINNING_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 60_000),
  /** Consecutive failed calls after which a pin request is marked failed (with the last reason). */
  PINNING_MAX_FAILURES: z.coerce.number().int().positive().default(8),
  /** Status polls of a queued/pinning request: first after this, doubling up to the max. */
  PINNING_POLL_BASE_MS: z.coerce.number().int().positive().default(1000),
  PINNING_POLL_MAX_MS: z.coerce.number().int().positive().default(60_000),
  /** How long an app server owns the pin requests it claimed; a killed server's claims end after it. */
  PINNING_LEASE_MS: z.coerce.number().int().positive().default(60_000),
});

/** The relay policy (lib/relay), from the RELAY_* variables. */
export interface RelayConfig {
  enabled: boolean;
  /** null when the relay is off */
  key: Secret | null;
  /** the key is anvil's public dev account (local chain only) */
  devKey: boolean;
  accountDailyLimit: number;
  proposalLimit: number;
  maxFeePerGasWei: bigint;
  dailyBudgetWei: bigint;
  /** 'all', 'none' or the qualifying proposal ids */
  proposals: 'all' | 'none' | bigint[];
  stuckMs: number;
  pollMs: number;
}

export type Env = Omit<z.infer<typeof schema>, 'RELAY_PRIVATE_KEY'> & {
  relay: RelayConfig;
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
  const { RELAY_PRIVATE_KEY, ...e } = result.data;
  const relay = relayConfig(e, RELAY_PRIVATE_KEY);
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
    relay,
  };
}

function relayConfig(e: Omit<z.infer<typeof schema>, 'RELAY_PRIVATE_KEY'>, keyVar: string | undefined): RelayConfig {
  const fail = (msg: string): never => {
    throw new EnvError(`Invalid environment:\n  ${msg}`);
  };
  if (keyVar && e.RELAY_PRIVATE_KEY_FILE) fail('RELAY_PRIVATE_KEY_FILE: set either RELAY_PRIVATE_KEY or RELAY_PRIVATE_KEY_FILE, not both');
  let key = keyVar;
  if (e.RELAY_PRIVATE_KEY_FILE) {
    let text = '';
    try {
      text = fs.readFileSync(e.RELAY_PRIVATE_KEY_FILE, 'utf8').trim();
    } catch (err) {
      fail(`RELAY_PRIVATE_KEY_FILE: cannot read ${e.RELAY_PRIVATE_KEY_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    // the message never quotes the file's content
    if (!/^0x[0-9a-fA-F]{64}$/.test(text)) fail(`RELAY_PRIVATE_KEY_FILE: ${e.RELAY_PRIVATE_KEY_FILE} must hold 0x followed by 64 hex digits`);
    key = text;
  }
  const devChain = e.CHAIN_ID === DEV_CHAIN_ID;
  const enabled = e.RELAY_ENABLED === undefined ? devChain : e.RELAY_ENABLED === 'true' || e.RELAY_ENABLED === '1';
  const devKey = enabled && !key;
  if (devKey && !devChain) fail('RELAY_PRIVATE_KEY: RELAY_ENABLED needs RELAY_PRIVATE_KEY or RELAY_PRIVATE_KEY_FILE off the local dev chain');
  const list = e.RELAY_PROPOSALS.trim();
  return {
    enabled,
    key: enabled ? new Secret(key ?? ANVIL_RELAYER_KEY) : null,
    devKey,
    accountDailyLimit: e.RELAY_ACCOUNT_DAILY_LIMIT,
    proposalLimit: e.RELAY_PROPOSAL_LIMIT,
    maxFeePerGasWei: BigInt(Math.round(e.RELAY_MAX_GAS_PRICE_GWEI * 1e9)),
    dailyBudgetWei: BigInt(e.RELAY_DAILY_BUDGET_WEI),
    proposals: list === 'all' || list === 'none' ? list : list.split(',').map((s) => BigInt(s.trim())),
    stuckMs: Math.round(e.RELAY_STUCK_SECONDS * 1000),
    pollMs: e.RELAY_POLL_MS,
  };
}

let cached: Env | undefined;
/** The process environment, validated once. */
export function getEnv(): Env {
  cached ??= parseEnv();
  return cached;
}

const pinningServices = z
  .array(
    z.object({
      name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore'),
      endpoint: z
        .string()
        .url()
        .refine((u) => /^https?:$/.test(new URL(u).protocol) && !new URL(u).username && !new URL(u).password && !new URL(u).search, {
          message: 'must be an http(s) URL without credentials or query (the token goes in "token")',
        }),
      token: z.string().min(1, 'must not be empty'),
    }),
  )
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of list.entries()) {
      if (seen.has(s.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'name'], message: `duplicate service name ${s.name}` });
      seen.add(s.name);
    }
  });
export type PinningServiceConfig = z.infer<typeof pinningServices>[number];

/** The operator's pinning services (PINNING_SERVICES_FILE). Errors name the entry and field, never a token. */
export function loadPinningServices(file: string): PinningServiceConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EnvError(`PINNING_SERVICES_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? 'not JSON'}`);
  }
  const r = pinningServices.safeParse(raw);
  if (!r.success) {
    throw new EnvError(`PINNING_SERVICES_FILE ${file}:\n${r.error.issues.map((i) => `  [${i.path.join('.')}]: ${i.message}`).join('\n')}`);
  }
  return r.data.map((s) => ({ ...s, endpoint: s.endpoint.replace(/\/+$/, '') }));
}
