// Shared fixtures for consumer tests: a real anvil with the real deploy, registry changes made as the
// timelock through anvil_impersonateAccount (a shortcut for speed — the governance path itself is
// covered by one test that publishes through propose/vote/queue/execute), model files with real
// manifests, and small node:http gateways, honest or hostile.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import canonicalize from 'canonicalize';
import { createPublicClient, createWalletClient, http as viemHttp, type Address, type Hex } from 'viem';
import { modelRegistryAbi } from '../../lib/contracts/generated.ts';
import { chainFor } from '../../lib/chain/client.ts';
import { asHttpError } from '../../lib/server/http.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { Governance } from '../../lib/devchain/governance.ts';
import { uploadAuthHeaders, uploadFile } from '../../lib/sdk/upload.ts';
import { advanceTime, DEV_ACCOUNTS, rpc, startTestChain, type TestChain } from './anvil.ts';

export type { TestChain };
export { startTestChain };

export const ACCESS = { Public: 0, TokenHolders: 1, Allowlist: 2 } as const;

/** Sends a registry call from the timelock (impersonated; the timelock owns the registry). */
export async function asTimelock(chain: TestChain, functionName: string, args: readonly unknown[]): Promise<Hex> {
  const timelock = chain.deployment.contracts.TimelockController;
  await rpc(chain.rpcUrl, 'anvil_impersonateAccount', [timelock]);
  await rpc(chain.rpcUrl, 'anvil_setBalance', [timelock, '0x56BC75E2D63100000']);
  const c = chainFor(chain.deployment.chainId, chain.rpcUrl);
  const wallet = createWalletClient({ account: timelock, chain: c, transport: viemHttp(chain.rpcUrl) });
  const client = createPublicClient({ chain: c, transport: viemHttp(chain.rpcUrl), pollingInterval: 50 });
  const hash = await wallet.writeContract({ address: chain.deployment.contracts.ModelRegistry, abi: modelRegistryAbi, functionName, args } as never);
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
  await rpc(chain.rpcUrl, 'anvil_stopImpersonatingAccount', [timelock]);
  return hash;
}

export async function asGuardian(chain: TestChain, functionName: string, args: readonly unknown[]): Promise<void> {
  const guardian = chain.deployment.guardian;
  await rpc(chain.rpcUrl, 'anvil_impersonateAccount', [guardian]);
  const c = chainFor(chain.deployment.chainId, chain.rpcUrl);
  const wallet = createWalletClient({ account: guardian, chain: c, transport: viemHttp(chain.rpcUrl) });
  const client = createPublicClient({ chain: c, transport: viemHttp(chain.rpcUrl), pollingInterval: 50 });
  const hash = await wallet.writeContract({ address: chain.deployment.contracts.ModelRegistry, abi: modelRegistryAbi, functionName, args } as never);
  await client.waitForTransactionReceipt({ hash });
  await rpc(chain.rpcUrl, 'anvil_stopImpersonatingAccount', [guardian]);
}

export interface ModelVersionFiles {
  manifest: Record<string, unknown>;
  manifestBytes: Buffer;
  /** 0x + 64 hex, as stored on chain */
  digest: Hex;
  files: Map<string, Buffer>;
}

export function sha256(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/**
 * A well-formed CIDv1 (raw codec, sha256) naming the bytes. Clients check sha256, not the CID, and
 * the server computes its own (UnixFS for files past one chunk); this fake gateway only needs the
 * manifest to pass the shared manifest rules.
 */
export function rawCid(sha256Hex: string): string {
  const bytes = Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), Buffer.from(sha256Hex, 'hex')]);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = 'b';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** Random file contents and a canonical (RFC 8785) manifest for them. */
export function makeVersion(
  slug: string,
  files: Record<string, number | Buffer>,
  opts: { parent?: string | null; rawPaths?: boolean } = {},
): ModelVersionFiles {
  const blobs = new Map<string, Buffer>();
  const entries = Object.entries(files).map(([p, spec]) => {
    const bytes = typeof spec === 'number' ? crypto.randomBytes(spec) : spec;
    const h = sha256(bytes);
    blobs.set(h, bytes);
    return { path: p, size: bytes.length, sha256: h, cid: rawCid(h) };
  });
  const manifest = { schema: 'modeldao.manifest/v1', model: slug, parent: opts.parent ?? null, files: entries, metadata: { license: 'apache-2.0' } };
  const manifestBytes = Buffer.from(canonicalize(manifest) as string);
  return { manifest, manifestBytes, digest: `0x${sha256(manifestBytes)}`, files: blobs };
}

/** Registers `slug` (if needed) and publishes `v` as its new current version, as the timelock. */
export async function publish(
  chain: TestChain,
  slug: string,
  v: ModelVersionFiles,
  opts: { access?: number; token?: Address; minBalance?: bigint; parent?: number } = {},
): Promise<void> {
  const client = createPublicClient({ transport: viemHttp(chain.rpcUrl) });
  let modelId: bigint;
  try {
    modelId = (await client.readContract({
      address: chain.deployment.contracts.ModelRegistry,
      abi: modelRegistryAbi,
      functionName: 'modelIdOf',
      args: [slug],
    })) as bigint;
  } catch {
    await asTimelock(chain, 'registerModel', [
      slug,
      { kind: opts.access ?? ACCESS.Public, token: opts.token ?? '0x0000000000000000000000000000000000000000', minBalance: opts.minBalance ?? 0n },
    ]);
    modelId = (await client.readContract({
      address: chain.deployment.contracts.ModelRegistry,
      abi: modelRegistryAbi,
      functionName: 'modelIdOf',
      args: [slug],
    })) as bigint;
  }
  await asTimelock(chain, 'publishVersion', [modelId, v.digest, opts.parent ?? 0]);
}

export async function modelIdOf(chain: TestChain, slug: string): Promise<bigint> {
  const client = createPublicClient({ transport: viemHttp(chain.rpcUrl) });
  return (await client.readContract({
    address: chain.deployment.contracts.ModelRegistry,
    abi: modelRegistryAbi,
    functionName: 'modelIdOf',
    args: [slug],
  })) as bigint;
}

export type Hostility =
  | { kind: 'honest' }
  /** flips one byte in the middle of every blob */
  | { kind: 'flip' }
  /** sends only half of every blob, with a Content-Length that admits it, then ends */
  | { kind: 'truncate' }
  /** answers every blob request with 200 and the whole blob, whatever Range asked for */
  | { kind: 'ignore-range' }
  /** sends this many bytes of each blob, then destroys the socket */
  | { kind: 'die'; afterBytes: number }
  /** sends blobs in 64 KiB pieces, one every `intervalMs` */
  | { kind: 'slow'; intervalMs: number }
  /** serves another manifest under the requested digest */
  | { kind: 'wrong-manifest'; manifest: Buffer }
  /** serves this manifest (e.g. with hostile paths) whatever the digest */
  | { kind: 'fixed-manifest'; manifest: Buffer };

export interface Gateway {
  url: string;
  requests: string[];
  setHostility(h: Hostility): void;
  add(v: ModelVersionFiles): void;
  close(): Promise<void>;
}

/** A bare-bones gateway (the /api/manifests and /api/blobs shapes, with Range) that can lie. */
export interface GatewayHooks {
  /** Handles other routes first (e.g. the real POST /api/access); resolves true when it answered. */
  route?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
  /** Runs before a manifest or blob is served; throw an HttpError to refuse (e.g. checkBlobAccess). */
  guard?: (req: http.IncomingMessage) => Promise<void>;
}

export async function startGateway(initial: ModelVersionFiles[] = [], hostility: Hostility = { kind: 'honest' }, hooks: GatewayHooks = {}): Promise<Gateway> {
  const manifests = new Map<string, Buffer>();
  const blobs = new Map<string, Buffer>();
  const requests: string[] = [];
  let h = hostility;
  const add = (v: ModelVersionFiles) => {
    manifests.set(v.digest.slice(2), v.manifestBytes);
    for (const [k, b] of v.files) blobs.set(k, b);
  };
  initial.forEach(add);
  const server = http.createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    if (hooks.route && (await hooks.route(req, res))) return;
    if (hooks.guard && /^\/api\/(manifests|blobs)\//.test(req.url ?? '')) {
      try {
        await hooks.guard(req);
      } catch (err) {
        const plain = err as { status?: number; code?: string; message: string };
        const e = asHttpError(err) ?? { status: plain.status ?? 500, code: plain.code, message: plain.message };
        res.writeHead(e.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: e.code ?? 'internal', message: e.message } }));
        return;
      }
    }
    const url = (req.url ?? '').replace(/\?.*$/, '');
    const m = /^\/api\/manifests\/(?:0x)?([0-9a-f]{64})$/.exec(url);
    if (m) {
      let body = manifests.get(m[1]!);
      if (h.kind === 'wrong-manifest') body = h.manifest;
      if (h.kind === 'fixed-manifest') body = h.manifest;
      if (!body) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such manifest"}}');
      return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    }
    const b = /^\/api\/blobs\/([0-9a-f]{64})$/.exec(url);
    if (b) {
      let body = blobs.get(b[1]!);
      if (!body) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such blob"}}');
      if (h.kind === 'flip') {
        body = Buffer.from(body);
        body[body.length >> 1]! ^= 0xff;
      }
      let start = 0;
      const r = h.kind === 'ignore-range' ? null : /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
      if (r) start = Number(r[1]);
      let slice = body.subarray(start);
      if (h.kind === 'truncate') slice = slice.subarray(0, slice.length >> 1);
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': slice.length };
      if (r) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      res.writeHead(r ? 206 : 200, headers);
      if (h.kind === 'slow') {
        const ms = h.intervalMs;
        let off = 0;
        const tick = () => {
          if (res.destroyed) return;
          if (off >= slice.length) return void res.end();
          res.write(slice.subarray(off, off + 65536));
          off += 65536;
          setTimeout(tick, ms);
        };
        tick();
        return;
      }
      if (h.kind === 'die') {
        res.write(slice.subarray(0, h.afterBytes), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      return void res.end(slice);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHostility: (x) => (h = x),
    add,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function tmpDir(prefix = 'modeldao-consumer-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every regular file and symlink under dir (relative paths). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => !fs.statSync(path.join(dir, p), { throwIfNoEntry: false })?.isDirectory()).sort();
}

/**
 * The maintainer's path to an approved version through a running server, as the benches take it:
 * voting power for dev account 0 (delegate, a second passes), each file uploaded through POST
 * /api/uploads, the manifest through POST /api/manifests, the version published as the timelock.
 * Returns the manifest's file entries and the version (digest, canonical bytes).
 */
export async function uploadAndPublish(o: {
  chain: TestChain;
  gateway: string;
  slug: string;
  files: { path: string; file: string }[];
}): Promise<{ files: { path: string; size: number; sha256: string; cid: string }[]; version: ModelVersionFiles }> {
  const gov = new Governance(o.chain.rpcUrl, o.chain.deployment);
  await gov.delegate(DEV_ACCOUNTS[0].privateKey);
  await advanceTime(o.chain.rpcUrl, 2);
  const account = privateKeyToAccount(DEV_ACCOUNTS[0].privateKey);
  const authHeaders = await uploadAuthHeaders({
    account,
    chainId: o.chain.deployment.chainId,
    registry: o.chain.deployment.contracts.ModelRegistry,
    gateway: o.gateway,
  });
  const files = [];
  for (const f of o.files) {
    const up = await uploadFile({ gateway: o.gateway, file: f.file, authHeaders });
    files.push({ path: f.path, size: up.size, sha256: up.sha256, cid: up.cid });
  }
  const version = makeVersion(o.slug, {});
  Object.assign(version.manifest, { files });
  version.manifestBytes = Buffer.from(canonicalize(version.manifest) as string);
  version.digest = `0x${sha256(version.manifestBytes)}`;
  const posted = await fetch(`${o.gateway}/api/manifests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders },
    body: new Uint8Array(version.manifestBytes),
  });
  if (!posted.ok) throw new Error(`POST /api/manifests: ${posted.status} ${await posted.text()}`);
  await publish(o.chain, o.slug, version);
  return { files, version };
}
