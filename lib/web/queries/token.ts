import 'server-only';
import { modelTokenAbi } from '@/lib/contracts/generated';
import { getChainClient, getDeployment } from './chain';

const memo = globalThis as unknown as { __modeldaoTokenSymbol?: Map<string, string> };

/** The governance token's symbol, read once per token address (it never changes). */
export async function getTokenSymbol(): Promise<string> {
  const token = getDeployment()?.contracts.ModelToken;
  if (!token) return 'votes';
  memo.__modeldaoTokenSymbol ??= new Map();
  const hit = memo.__modeldaoTokenSymbol.get(token);
  if (hit) return hit;
  try {
    const symbol = await getChainClient().readContract({ address: token, abi: modelTokenAbi, functionName: 'symbol' });
    memo.__modeldaoTokenSymbol.set(token, symbol);
    return symbol;
  } catch {
    return 'tokens';
  }
}
