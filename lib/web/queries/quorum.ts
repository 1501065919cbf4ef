import 'server-only';
import { cache } from 'react';
import { loadQuorumAt } from '@/lib/indexer/quorum';
import { getEnv } from '@/lib/web/server-env';
import { getDb } from './db';

/** quorum(timepoint) from the index (lib/indexer/quorum.ts), loaded once per request. */
export const getQuorumAt = cache(async (fallbackNumerator: number) => loadQuorumAt(await getDb(), getEnv().CHAIN_ID, fallbackNumerator));
