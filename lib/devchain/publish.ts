// Uploads a version's files and its manifest through the public HTTP API, exactly as a maintainer's
// browser or pipeline does (EIP-712 upload authorization, POST /api/uploads, POST /api/manifests).
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Deployment } from '../contracts/deployment.ts';
import { signUploadAuthorization } from '../artifacts/upload-auth-format.ts';
import { MANIFEST_SCHEMA } from '../manifest/index.ts';

export interface PublishedFiles {
  manifestDigest: Hex;
  files: { path: string; size: number; sha256: string; cid: string }[];
}

async function expectOk(res: Response, what: string): Promise<Record<string, unknown>> {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function publishFiles(opts: {
  baseUrl: string;
  privateKey: Hex;
  deployment: Deployment;
  model: string;
  parent: Hex | null;
  files: { path: string; bytes: Buffer }[];
  metadata: Record<string, unknown>;
}): Promise<PublishedFiles> {
  const account = privateKeyToAccount(opts.privateKey);
  const authorization = await signUploadAuthorization(account, {
    account: account.address,
    chainId: opts.deployment.chainId,
    registry: opts.deployment.contracts.ModelRegistry,
    audience: opts.baseUrl,
  });
  const files = [];
  for (const f of opts.files) {
    const res = await fetch(`${opts.baseUrl}/api/uploads`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/octet-stream', 'x-file-name': f.path },
      body: new Uint8Array(f.bytes),
    });
    const r = await expectOk(res, `upload ${f.path}`);
    files.push({ path: f.path, size: r.size as number, sha256: r.sha256 as string, cid: r.cid as string });
  }
  const manifest = {
    schema: MANIFEST_SCHEMA,
    model: opts.model,
    parent: opts.parent ? `sha256:${opts.parent.slice(2)}` : null,
    files,
    metadata: opts.metadata,
  };
  const res = await fetch(`${opts.baseUrl}/api/manifests`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(manifest),
  });
  const m = await expectOk(res, 'store manifest');
  return { manifestDigest: m.manifestDigest as Hex, files };
}
