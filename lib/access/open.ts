import type { PublicClient } from 'viem';
import type { Env } from '../env.ts';
import type { Deployment } from '../contracts/deployment.ts';
import { createAccessService, type AnyPgDatabase } from './service.ts';
import { loadAccessSecret } from './token.ts';

/** The access service wired from the environment (what ServerContext.access holds). */
export function openAccess(opts: { env: Env; deployment: Deployment; publicClient: PublicClient; db: AnyPgDatabase }) {
  return createAccessService({
    chainId: opts.deployment.chainId,
    registry: opts.deployment.contracts.ModelRegistry,
    publicClient: opts.publicClient,
    db: opts.db,
    audiences: opts.env.accessAudiences,
    secret: loadAccessSecret({ secret: opts.env.ACCESS_TOKEN_SECRET, dataDir: opts.env.dataDir }),
    tokenTtlSeconds: opts.env.ACCESS_TOKEN_TTL_SECONDS,
    recheckSeconds: opts.env.ACCESS_RECHECK_SECONDS,
  });
}
