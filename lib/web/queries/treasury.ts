import 'server-only';
import { cache } from 'react';
import { loadTreasury, type Treasury } from '@/lib/treasury/treasury';
import { getDb } from './db';
import { getChainClient, getDeployment } from './chain';

/** The timelock's balances and flows at the indexed block (lib/treasury/treasury.ts); null without a deployment. */
export const getTreasury = cache(async (): Promise<Treasury | null> => {
  const dep = getDeployment();
  if (!dep) return null;
  return loadTreasury(await getDb(), getChainClient(), dep);
});
