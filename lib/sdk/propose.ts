import fs from 'node:fs';
import path from 'node:path';
import { createWalletClient, encodeFunctionData, http, keccak256, toHex, type Address, type Hex } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import { modelGovernorAbi, modelRegistryAbi } from '../contracts/generated.ts';
import { chainFor } from '../chain/client.ts';
import { canonicalManifest, ManifestError, manifestDigest, parseManifest as validateManifestShape, type Manifest } from '../manifest/index.ts';
import { chainErrorMessage, connectChain, type ChainConnection, type ChainOptions } from './chain.ts';
import { isRevert, VERSION_STATUS } from './resolve.ts';

const REVOKED = VERSION_STATUS.indexOf('revoked');
import { ModelDaoError } from './errors.ts';
import { httpError, kindOfStatus, readBody, request, trimSlash } from './net.ts';
import { uploadAuthHeaders, uploadFile, type UploadResult } from './upload.ts';
import { defaultGateways } from './pull.ts';

export interface ProposeOptions extends ChainOptions {
  slug: string;
  /** Local files; each is stored under its base name unless `paths` says otherwise. */
  files: string[];
  paths?: string[];
  description: string;
  /** Parent version (default: the current version, if any). */
  parentVersion?: number;
  /** JSON file merged into the manifest's metadata (license, description, evals). */
  metadataFile?: string;
  gateway?: string;
  /** Governor address (default from the deployment record or $MODELDAO_GOVERNOR). */
  governor?: string;
  account: LocalAccount;
  onProgress?: (done: number, total: number, label: string) => void;
  onNotice?: (m: string) => void;
}

export interface ProposeResult {
  proposalId: string;
  url: string;
  txHash: Hex;
  manifestDigest: Hex;
  modelId: string;
  parentVersion: number;
  description: string;
  files: { path: string; size: number; sha256: string; cid: string }[];
}

/**
 * For maintainers' pipelines: uploads the files, builds and stores the manifest, and submits the
 * governor proposal `registry.publishVersion(modelId, digest, parent)`.
 */
export async function propose(opts: ProposeOptions): Promise<ProposeResult> {
  const chain = await connectChain(opts);
  const gateway = trimSlash(opts.gateway ?? defaultGateways()[0]!); // never empty
  const governor = (opts.governor ?? process.env.MODELDAO_GOVERNOR ?? chain.governor) as Address | undefined;
  if (!governor) throw new ModelDaoError('usage', 'governor_unknown', 'no governor address: pass --deployment FILE (or set MODELDAO_GOVERNOR)');
  const paths = opts.paths ?? opts.files.map((f) => path.basename(f));
  for (const f of opts.files)
    if (!fs.statSync(f, { throwIfNoEntry: false })?.isFile()) throw new ModelDaoError('usage', 'file_not_found', `${f} is not a file`);

  // The model must exist; its current version is the default parent.
  let modelId: bigint;
  let parentVersion = opts.parentVersion ?? 0;
  let parentDigest: string | null = null;
  try {
    modelId = await chain.client.readContract({ address: chain.registry, abi: modelRegistryAbi, functionName: 'modelIdOf', args: [opts.slug] });
  } catch (err) {
    // Only a revert means "no such model"; an RPC failure is a chain problem (exit 3), not exit 4.
    if (!isRevert(err))
      throw new ModelDaoError('chain', 'rpc_failed', `reading modelIdOf from ${chain.rpcUrl} failed: ${chainErrorMessage(err)}`, { cause: err });
    throw new ModelDaoError('not_found', 'unknown_model', `no model "${opts.slug}" in registry ${chain.registry}; registering a model is its own proposal`);
  }
  if (opts.parentVersion === undefined) {
    const [current] = await chain.client.readContract({ address: chain.registry, abi: modelRegistryAbi, functionName: 'currentVersion', args: [modelId] });
    parentVersion = current || (await fallbackParent(chain.client, chain.registry, modelId));
  }
  if (parentVersion > 0) {
    const v = await chain.client.readContract({ address: chain.registry, abi: modelRegistryAbi, functionName: 'getVersion', args: [modelId, parentVersion] });
    parentDigest = `sha256:${v.manifestDigest.slice(2)}`;
  }

  // Everything local is checked before the first byte goes out: metadata, and the manifest's path
  // rules (lib/manifest, the server's own) on the names the files will get.
  let metadata: Record<string, unknown> | undefined;
  if (opts.metadataFile) metadata = readMetadata(opts.metadataFile);
  const placeholder = { size: 0, sha256: '0'.repeat(64), cid: 'b'.padEnd(59, 'a') };
  checkedManifest({
    schema: 'modeldao.manifest/v1',
    model: opts.slug,
    parent: parentDigest,
    files: paths.map((p) => ({ path: p, ...placeholder })),
    ...(metadata ? { metadata } : {}),
  });

  const total = opts.files.reduce((s, f) => s + fs.statSync(f).size, 0);
  let done = 0;
  // The key is local, so every request gets a fresh authorization: a multi-GB upload may outlast one.
  const freshAuth = () => uploadAuthHeaders({ account: opts.account, chainId: chain.chainId, registry: chain.registry, gateway });
  const uploaded: UploadResult[] = [];
  for (const [i, file] of opts.files.entries()) {
    const r = await uploadFile({
      gateway,
      file,
      name: paths[i],
      authHeaders: freshAuth,
      onBytes: (n) => {
        done += n;
        opts.onProgress?.(done, total, `uploading ${paths[i]}`);
      },
    });
    uploaded.push(r);
  }
  const manifest: Manifest = checkedManifest({
    schema: 'modeldao.manifest/v1',
    model: opts.slug,
    parent: parentDigest,
    files: uploaded.map((u, i) => ({ path: paths[i], size: u.size, sha256: u.sha256, cid: u.cid })),
    ...(metadata ? { metadata } : {}),
  });
  const digest = manifestDigest(manifest);
  const canonical = Buffer.from(canonicalManifest(manifest));

  const url = `${gateway}/api/manifests`;
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(await freshAuth()) }, body: canonical });
  if ((res.statusCode ?? 0) >= 300) {
    const e = await httpError(res, url);
    throw new ModelDaoError(kindOfStatus(e.status), e.code ?? 'manifest_rejected', `storing the manifest failed: ${e.message}`);
  }
  const stored = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8')) as { digest?: string; manifestDigest?: string };
  const storedDigest = (stored.manifestDigest ?? stored.digest ?? '').toLowerCase().replace(/^sha256:/, '0x');
  if (storedDigest && storedDigest !== digest.bytes32 && storedDigest !== digest.hex) {
    throw new ModelDaoError('integrity', 'digest_mismatch', `the gateway stored the manifest under ${storedDigest}, expected ${digest.bytes32}`);
  }

  const calldata = encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [modelId, digest.bytes32 as Hex, parentVersion] });
  const fullDescription = `${opts.description.trim()}\n\n#proposer=${opts.account.address}`;
  const targets = [chain.registry];
  const values = [0n];
  const calldatas = [calldata];
  const proposalId = await chain.client.readContract({
    address: governor,
    abi: modelGovernorAbi,
    functionName: 'hashProposal',
    args: [targets, values, calldatas, keccak256(toHex(fullDescription))],
  });
  const wallet = createWalletClient({ account: opts.account, chain: chainFor(chain.chainId, chain.rpcUrl), transport: http(chain.rpcUrl) });
  let txHash: Hex;
  try {
    const { request: req } = await chain.client.simulateContract({
      account: opts.account,
      address: governor,
      abi: modelGovernorAbi,
      functionName: 'propose',
      args: [targets, values, calldatas, fullDescription],
    });
    txHash = await wallet.writeContract(req);
  } catch (err) {
    throw new ModelDaoError(
      'chain',
      'propose_failed',
      `governor.propose failed: ${(err as { shortMessage?: string }).shortMessage ?? (err as Error).message.split('\n')[0]}`,
    );
  }
  const receipt = await chain.client.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== 'success') throw new ModelDaoError('chain', 'propose_failed', `governor.propose reverted (tx ${txHash})`);
  return {
    proposalId: proposalId.toString(),
    url: `${gateway}/proposals/${proposalId}`,
    txHash,
    manifestDigest: digest.bytes32 as Hex,
    modelId: modelId.toString(),
    parentVersion,
    description: fullDescription,
    files: manifest.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, cid: f.cid })),
  };
}

/**
 * With no current version (revoked or deprecated away) a model that has versions still needs an
 * existing parent: the newest version that was not revoked, else the newest one. 0 for a new model.
 */
async function fallbackParent(client: ChainConnection['client'], registry: Address, modelId: bigint): Promise<number> {
  const [, versionCount] = await client.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'getModel', args: [modelId] });
  for (let v = versionCount; v >= 1; v--) {
    const version = await client.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'getVersion', args: [modelId, v] });
    if (version.status !== REVOKED) return v;
  }
  return versionCount;
}

/** The manifest rules applied locally: a refused input is exit 8 (rejected), before any upload. */
function checkedManifest(input: unknown): Manifest {
  try {
    return validateManifestShape(input);
  } catch (err) {
    if (err instanceof ManifestError) throw new ModelDaoError('rejected', 'invalid_manifest', `the manifest would be invalid: ${err.message}`);
    throw err;
  }
}

function readMetadata(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelDaoError('usage', 'metadata_unreadable', `--metadata ${file} cannot be read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelDaoError('usage', 'metadata_invalid', `--metadata ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ModelDaoError('usage', 'metadata_invalid', `--metadata ${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}
