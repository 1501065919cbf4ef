import 'server-only';
import { cache } from 'react';
import { getEnv } from '@/lib/web/server-env';
import { pinsOfModel, type RemotePinRow } from '@/lib/ipfs/remote-pins';
import { getDb } from './db';

/** Remote pins of a model (db/schema/pins.ts), by version: where each version is pinned, and how far. */
export const getPinsByVersion = cache(async (slug: string): Promise<Record<number, RemotePinRow[]>> => {
  const db = await getDb();
  const out: Record<number, RemotePinRow[]> = {};
  for (const r of await pinsOfModel(db, getEnv().CHAIN_ID, slug)) (out[r.version] ??= []).push(r);
  return out;
});
