import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { getAddress, isAddress, type Address } from 'viem';
import { ModelDaoError, EXIT_CODES } from '../sdk/errors.ts';
import { pull } from '../sdk/pull.ts';
import { status } from '../sdk/status.ts';
import { verify } from '../sdk/verify.ts';
import { loadAccount } from '../sdk/keys.ts';
import { formatBytes, ProgressBar } from './progress.ts';

const HELP = `modeldao — fetch the weights a modeldao DAO approved on chain, verified byte by byte

Usage:
  modeldao pull <slug> [--version N] [--out DIR] [--link] [--gateway URL ...] [--ipfs-gateway URL ...] [--key KEY] [--token T]
  modeldao status <slug> [--account ADDR | --key KEY] [--gateway URL]
                        versions and access from the chain; with a gateway also where each version is
                        pinned remotely (IPFS pinning services) and each pin's status or failure reason
  modeldao verify <dir|slug> [--version N]
  modeldao propose <slug> <file ...> --description TEXT [--parent N] [--metadata FILE] [--gateway URL] [--key KEY]
  modeldao access <slug> [--gateway URL] [--key KEY]      sign an AccessRequest, print a download token
                                                           (use it as HF_TOKEN or --token)
  modeldao hf-endpoint [--port N] [--gateway URL ...] [--key KEY]
                        a Hugging Face Hub endpoint on 127.0.0.1 serving only bytes verified against
                        the chain: HF_ENDPOINT=<printed URL> hf download <slug>
  modeldao watch <slug> --out DIR [--exec CMD] [--gateway URL ...] [--events URL | --no-events] [--poll-ms N]
        keeps DIR (a symlink) on the approved version: follows the event stream of --events (default
        the first gateway; polls the chain when it is down), pulls + verifies each newly approved
        version into DIR.versions/,
        swaps DIR atomically and runs CMD (sh -c) with MODELDAO_EVENT=update|revoked,
        MODELDAO_VERSION, MODELDAO_MANIFEST_DIGEST, MODELDAO_DIR, MODELDAO_REASON set; a revoked
        running version is removed, then CMD runs with MODELDAO_EVENT=revoked. Runs until SIGINT/SIGTERM.

Chain options (every command):
  --rpc URL             JSON-RPC endpoint (default $RPC_URL or http://127.0.0.1:8545)
  --registry ADDR       ModelRegistry address (default $MODELDAO_REGISTRY), or
  --deployment FILE     deployment record with the addresses (default contracts/deployments/<chainId>.json)

Other options:
  --gateway URL         server with /api/manifests and /api/blobs; repeat for fallbacks
                        (default $MODELDAO_GATEWAY, comma-separated, or http://127.0.0.1:3000)
  --ipfs-gateway URL    IPFS trustless gateway (ours: the server URL; or any other, e.g. a Kubo
                        gateway); fetches blocks by CID, each verified; repeat to fetch from several
                        in parallel; mixable with --gateway (then used when IPFS fails)
  --cache DIR           cache root (default $MODELDAO_CACHE or ~/.cache/modeldao)
  --key KEY             0x private key, key file or v3 keystore ($MODELDAO_KEYSTORE_PASSWORD);
                        default $MODELDAO_PRIVATE_KEY. Signs access requests for gated models.
  --json                machine-readable output on stdout
  --quiet               no progress bar

Exit codes: 0 ok · 2 usage · 3 chain/RPC · 4 not found / no current version / revoked ·
            5 integrity (bytes or manifest do not match the chain) · 6 access denied · 7 network ·
            8 rejected (the gateway refused a file or manifest as invalid) · 9 local (cache/--out not writable)`;

const options = {
  version: { type: 'string' },
  out: { type: 'string', short: 'o' },
  link: { type: 'boolean' },
  rpc: { type: 'string' },
  registry: { type: 'string' },
  deployment: { type: 'string' },
  gateway: { type: 'string', multiple: true },
  'ipfs-gateway': { type: 'string', multiple: true },
  key: { type: 'string' },
  token: { type: 'string' },
  account: { type: 'string' },
  cache: { type: 'string' },
  concurrency: { type: 'string' },
  description: { type: 'string' },
  parent: { type: 'string' },
  metadata: { type: 'string' },
  exec: { type: 'string' },
  'no-events': { type: 'boolean' },
  events: { type: 'string' },
  'poll-ms': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type Values = {
  [K in keyof typeof options]?: (typeof options)[K] extends { multiple: true } ? string[] : (typeof options)[K]['type'] extends 'boolean' ? boolean : string;
};

function usage(message: string): never {
  throw new ModelDaoError('usage', 'usage', `${message}\n\n${HELP}`);
}

function intOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) usage(`--${name} must be a positive integer`);
  return Number(v);
}

function nonNegativeIntOption(v: string, name: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) usage(`--${name} must be a version number (0 for none)`);
  return Number(v);
}

function chainOpts(v: Values) {
  if (v.registry && v.deployment) usage('pass either --registry or --deployment, not both');
  return { rpcUrl: v.rpc, registry: v.registry, deploymentFile: v.deployment };
}

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

async function cmdPull(args: string[], v: Values): Promise<number> {
  const [slug] = args;
  if (!slug || args.length > 1) usage('pull takes exactly one model slug');
  const bar = new ProgressBar(process.stderr, !v.quiet && !v.json);
  const account = loadAccount(v.key);
  const started = Date.now();
  try {
    const result = await pull({
      ...chainOpts(v),
      slug,
      version: intOption(v.version, 'version'),
      out: v.out,
      link: v.link,
      gateways: v.gateway,
      ipfsGateways: v['ipfs-gateway'],
      cacheDir: v.cache,
      account,
      accessToken: v.token,
      concurrency: intOption(v.concurrency, 'concurrency'),
      onProgress: (p) => bar.update(p.doneBytes, p.totalBytes, `${p.filesDone}/${p.filesTotal} files`),
      onNotice: (m) => (v.quiet ? undefined : bar.note(`modeldao: ${m}`)),
    });
    bar.done();
    const secs = (Date.now() - started) / 1000;
    const a = result.approved;
    if (v.json) {
      out(
        JSON.stringify({
          slug: a.slug,
          version: a.version,
          manifestDigest: a.manifestDigest,
          chainId: a.chainId,
          registry: a.registry,
          blockNumber: Number(a.blockNumber),
          snapshotDir: result.snapshotDir,
          outDir: result.outDir,
          bytesDownloaded: result.bytesDownloaded,
          timings: result.timings,
          files: result.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, localPath: f.localPath, fromCache: f.fromCache })),
        }),
      );
    } else {
      if (!v.quiet) {
        err(
          `modeldao: ${a.slug} v${a.version}${a.isCurrent ? ' (current)' : ` (${a.status})`} — manifest ${a.manifestDigest} read from registry ${a.registry} on chain ${a.chainId} at block ${a.blockNumber}`,
        );
        err(`modeldao: ${result.files.length} file(s) verified; ${formatBytes(result.bytesDownloaded)} downloaded in ${secs.toFixed(1)} s`);
      }
      out(result.outDir ?? result.snapshotDir);
    }
    return 0;
  } finally {
    bar.done();
  }
}

async function cmdStatus(args: string[], v: Values): Promise<number> {
  const [slug] = args;
  if (!slug || args.length > 1) usage('status takes exactly one model slug');
  let account: Address | undefined;
  if (v.account) {
    if (!isAddress(v.account, { strict: false })) usage(`--account ${v.account} is not an address`);
    account = getAddress(v.account);
  } else {
    account = loadAccount(v.key)?.address;
  }
  const s = await status({ ...chainOpts(v), slug, account });
  const pins = await remotePins(slug, v);
  if (v.json) {
    out(JSON.stringify({ ...s, pins }, (_k, val) => (typeof val === 'bigint' ? val.toString() : val)));
    return 0;
  }
  const rule =
    s.access.kind === 'token-holders'
      ? `token holders (≥ ${s.access.minBalance} of ${s.access.token})`
      : s.access.kind === 'allowlist'
        ? 'allowlist'
        : 'public';
  out(`${s.slug} (model ${s.modelId}) on chain ${s.chainId}, registry ${s.registry}, block ${s.blockNumber}`);
  out(`current version: ${s.currentVersion === 0 ? 'none' : s.currentVersion}`);
  out(`access: ${rule}`);
  if (s.account) out(`${s.account} ${s.canAccess ? 'may' : 'may NOT'} fetch it`);
  out('versions:');
  for (const e of [...s.versions].reverse()) {
    const when = new Date(e.publishedAt * 1000).toISOString().replace('.000Z', 'Z');
    const by = e.proposalId ? `proposal ${e.proposalId}` : e.publishedTx ? `tx ${e.publishedTx}` : '';
    const changed = e.statusChangedBy ? `, ${e.status} by ${e.statusChangedBy}` : '';
    out(`  v${e.version}${e.isCurrent ? ' *' : '  '} ${e.status.padEnd(10)} ${when}  ${e.manifestDigest}  ${by}${changed}`);
    out(`       manifest CID ${e.manifestCid}`);
    const pinned = pins && 'versions' in pins ? pins.versions.find((p) => p.version === e.version) : undefined;
    for (const line of pinLines(pinned?.pins ?? [])) out(`       ${line}`);
  }
  if (pins && 'error' in pins) err(`modeldao: remote pins unknown: ${pins.error}`);
  return 0;
}

type PinsAnswer = import('../ipfs/remote-pins.ts').PinsView | { error: string };

/** With --gateway / $MODELDAO_GATEWAY: that server's record of remote pins (GET /api/models/{slug}/pins); never fatal. */
async function remotePins(slug: string, v: Values): Promise<PinsAnswer | null> {
  const named = v.gateway?.[0] ?? process.env.MODELDAO_GATEWAY?.split(',')[0];
  if (!named) return null; // status reads the chain only, unless a server is named
  const gw = named.replace(/\/+$/, '');
  try {
    const res = await fetch(`${gw}/api/models/${encodeURIComponent(slug)}/pins`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return { error: `${gw}: HTTP ${res.status}` };
    return (await res.json()) as PinsAnswer;
  } catch (e) {
    return { error: `${gw}: ${(e as Error).message}` };
  }
}

/** Per service: how many of the version's CIDs are pinned, and each one that is not, with its reason. */
function pinLines(pins: import('../ipfs/remote-pins.ts').PinsView['versions'][number]['pins']): string[] {
  const clean = (t: string) => t.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ').slice(0, 300);
  const lines: string[] = [];
  for (const service of [...new Set(pins.map((p) => p.service))]) {
    const mine = pins.filter((p) => p.service === service);
    const pinned = mine.filter((p) => p.state === 'pinned').length;
    lines.push(`pinned on ${clean(service)}: ${pinned}/${mine.length}${mine[0]!.want === 'unpinned' ? ' (unpinning: revoked)' : ''}`);
    for (const p of mine) {
      if (p.state === 'pinned' || p.state === 'unpinned') continue;
      lines.push(`  ${clean(p.path || 'manifest')}: ${p.state}${p.error ? ` — ${clean(p.error)}` : ''}`);
    }
  }
  return lines;
}

async function cmdVerify(args: string[], v: Values): Promise<number> {
  const [target] = args;
  if (!target || args.length > 1) usage('verify takes one directory or model slug');
  const bar = new ProgressBar(process.stderr, !v.quiet && !v.json);
  const r = await verify({ ...chainOpts(v), target, version: intOption(v.version, 'version'), cacheDir: v.cache, onProgress: (d, t) => bar.update(d, t) });
  bar.done();
  if (v.json) {
    out(
      JSON.stringify({ ok: r.ok, dir: r.dir, slug: r.approved.slug, version: r.approved.version, manifestDigest: r.approved.manifestDigest, files: r.files }),
    );
  } else {
    for (const f of r.files) out(`${f.ok ? 'ok  ' : 'FAIL'} ${f.path}${f.detail ? `  (${f.detail})` : ''}`);
    out(
      `${r.approved.slug} v${r.approved.version} at ${r.dir}: ${r.ok ? 'matches' : 'does NOT match'} manifest ${r.approved.manifestDigest} on chain ${r.approved.chainId}`,
    );
  }
  if (!r.ok) throw new ModelDaoError('integrity', 'verify_failed', `${r.files.filter((f) => !f.ok).length} file(s) do not match the approved manifest`);
  return 0;
}

async function cmdPropose(args: string[], v: Values): Promise<number> {
  const { propose } = await import('../sdk/propose.ts');
  const [slug, ...files] = args;
  if (!slug || files.length === 0) usage('propose takes a model slug and at least one file');
  if (!v.description) usage('propose needs --description');
  const account = loadAccount(v.key);
  if (!account) usage('propose needs a key: --key or MODELDAO_PRIVATE_KEY');
  const bar = new ProgressBar(process.stderr, !v.quiet && !v.json);
  const r = await propose({
    ...chainOpts(v),
    slug,
    files: files.map((f) => path.resolve(f)),
    description: v.description,
    parentVersion: v.parent === undefined ? undefined : nonNegativeIntOption(v.parent, 'parent'),
    metadataFile: v.metadata,
    gateway: v.gateway?.[0],
    account,
    onProgress: (d, t, label) => bar.update(d, t, label),
    onNotice: (m) => (v.quiet ? undefined : bar.note(`modeldao: ${m}`)),
  });
  bar.done();
  if (v.json) out(JSON.stringify(r));
  else {
    out(`proposal ${r.proposalId}`);
    out(r.url);
    err(`modeldao: manifest ${r.manifestDigest} (${r.files.length} files), tx ${r.txHash}`);
  }
  return 0;
}

async function cmdAccess(args: string[], v: Values): Promise<number> {
  const [slug] = args;
  if (!slug || args.length > 1) usage('access takes exactly one model slug');
  const account = loadAccount(v.key);
  if (!account) throw new ModelDaoError('access', 'no_key', 'access needs a key to sign the request: set MODELDAO_PRIVATE_KEY or pass --key');
  const { requestAccessForSlug } = await import('./access.ts');
  const r = await requestAccessForSlug({ ...chainOpts(v), slug, account, gateway: v.gateway?.[0] });
  if (v.json) out(JSON.stringify(r));
  else {
    out(r.token);
    if (!v.quiet)
      err(
        `modeldao: token for ${r.account} on ${slug} (model ${r.modelId}) from ${r.gateway}, valid until ${new Date(r.expiresAt * 1000).toISOString()}; use it as HF_TOKEN or --token`,
      );
  }
  return 0;
}

async function cmdWatch(args: string[], v: Values): Promise<number> {
  const { watch } = await import('../sdk/watch.ts');
  const { spawn } = await import('node:child_process');
  const [slug] = args;
  if (!slug || args.length > 1) usage('watch takes exactly one model slug');
  if (!v.out) usage('watch needs --out DIR');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const runHook = (env: Record<string, string>) =>
    new Promise<number | null>((resolve) => {
      if (!v.exec) return resolve(0);
      const child = spawn('sh', ['-c', v.exec], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
      child.on('error', () => resolve(null));
      child.on('exit', (code) => resolve(code));
    });
  try {
    for await (const u of watch({
      ...chainOpts(v),
      slug,
      out: v.out,
      gateways: v.gateway,
      cacheDir: v.cache,
      account: loadAccount(v.key),
      accessToken: v.token,
      events: !v['no-events'],
      eventsUrl: v.events,
      pollMs: intOption(v['poll-ms'], 'poll-ms'),
      signal: controller.signal,
      onNotice: (m) => (v.quiet ? undefined : err(`modeldao: ${m}`)),
    })) {
      if (v.json) out(JSON.stringify(u));
      else if (!v.quiet)
        err(
          u.kind === 'version'
            ? `modeldao: ${slug} v${u.version} (${u.manifestDigest}) verified and live in ${v.out}`
            : `modeldao: removed ${slug} v${u.version} from ${v.out}: ${u.reason}`,
        );
      const code = await runHook({
        MODELDAO_EVENT: u.kind === 'version' ? 'update' : 'revoked',
        MODELDAO_SLUG: u.slug,
        MODELDAO_VERSION: String(u.version),
        MODELDAO_MANIFEST_DIGEST: u.manifestDigest,
        MODELDAO_DIR: path.resolve(v.out),
        MODELDAO_REASON: u.reason,
      });
      if (code !== 0 && !v.quiet) err(`modeldao: --exec exited with ${code === null ? 'an error' : `code ${code}`}`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

async function cmdHfEndpoint(args: string[], v: Values): Promise<number> {
  if (args.length > 0) usage('hf-endpoint takes no positional arguments');
  const port = v.port === undefined ? 0 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage('--port must be a port number (0 = any free port)');
  const { startLocalEndpoint } = await import('../hf/local-endpoint.ts');
  const endpoint = await startLocalEndpoint({
    ...chainOpts(v),
    port,
    gateways: v.gateway,
    cacheDir: v.cache,
    account: loadAccount(v.key),
    concurrency: intOption(v.concurrency, 'concurrency'),
    onNotice: (m) => (v.quiet ? undefined : err(`modeldao: ${m}`)),
  });
  if (v.json) out(JSON.stringify({ url: endpoint.url, port: endpoint.port }));
  else {
    out(`HF_ENDPOINT=${endpoint.url}`);
    if (!v.quiet) err(`modeldao: Hub endpoint on ${endpoint.url}: serves only versions the chain approved, bytes verified by pull; Ctrl-C stops it`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await endpoint.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    err(`modeldao: ${(e as Error).message}\n\n${HELP}`);
    return EXIT_CODES.usage;
  }
  const { values, positionals } = parsed;
  const [cmd, ...rest] = positionals;
  if (values.help || !cmd || cmd === 'help') {
    out(HELP);
    return cmd || values.help ? 0 : EXIT_CODES.usage;
  }
  try {
    switch (cmd) {
      case 'pull':
        return await cmdPull(rest, values as Values);
      case 'status':
        return await cmdStatus(rest, values as Values);
      case 'verify':
        return await cmdVerify(rest, values as Values);
      case 'propose':
        return await cmdPropose(rest, values as Values);
      case 'access':
        return await cmdAccess(rest, values as Values);
      case 'hf-endpoint':
        return await cmdHfEndpoint(rest, values as Values);
      case 'watch':
        return await cmdWatch(rest, values as Values);
      default:
        usage(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof ModelDaoError) {
      err(`modeldao: error [${e.code}]: ${e.message}`);
      return e.exitCode;
    }
    err(`modeldao: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}
