import type { PublicClient } from 'viem';
import type { Env } from '../env.ts';
import type { Deployment } from '../contracts/deployment.ts';
import type { Database, Db } from '../../db/client.ts';
import type { IpfsNodeInfo } from '../ipfs/node.ts';

export interface IndexerStatus {
  indexedBlock: number | null;
  headBlock: number | null;
  lag: number | null;
  error?: string;
}

/** What every plain node handler receives. Route modules declare the narrow part they use. */
export interface BaseContext {
  env: Env;
  deployment: Deployment;
  publicClient: PublicClient;
  db: Db;
  database: Database;
  databaseKind: Database['kind'];
  indexer: { status(): IndexerStatus };
  /** The embedded IPFS node (IPFS_LISTEN), null when it is off. */
  ipfs: { info(): IpfsNodeInfo } | null;
}

// The full context is the union of what the route modules ask for; main.ts builds it.
export type ServerContext = BaseContext & Record<string, unknown>;
