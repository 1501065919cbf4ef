'use client';

import type { Address, Hex } from 'viem';
import { UPLOAD_AUTH_SCHEME, uploadTypedData } from '@/lib/artifacts/upload-auth';

// The EIP-712 UploadAuthorization of lib/artifacts/upload-auth.ts (used by POST /api/uploads and
// /api/manifests), signed by the connected wallet once for a whole multi-file upload.

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function uploadAuthorization(o: {
  account: Address;
  chainId: number;
  registry: Address;
  sign: (typedData: ReturnType<typeof uploadTypedData>) => Promise<Hex>;
}): Promise<Record<string, string>> {
  const expiry = Math.floor(Date.now() / 1000) + 30 * 60;
  const signature = await o.sign(uploadTypedData(o.chainId, o.registry, o.account, expiry));
  return { authorization: `${UPLOAD_AUTH_SCHEME} ${base64url(JSON.stringify({ account: o.account, expiry, signature }))}` };
}
