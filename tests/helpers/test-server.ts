// The real server (lib/server/main.ts: plain API, in-process indexer, PGlite in `dataDir`) on a test
// chain, at a free port, quiet: the set-up most server tests share. `extra` overrides or adds
// environment variables (e.g. DATABASE_URL, WEBHOOKS_FILE); `opts` reaches startServer (e.g. a Next
// stand-in).
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer, type StartServerOptions } from '../../lib/server/main.ts';
import { freePort, type TestChain } from './anvil.ts';

export async function startTestServer(
  chain: TestChain,
  dataDir: string,
  extra: Record<string, string> = {},
  opts: Partial<Omit<StartServerOptions, 'env' | 'deployment'>> = {},
): Promise<RunningServer> {
  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'test',
    PORT: String(await freePort()),
    RPC_URL: chain.rpcUrl,
    DEPLOYMENT_FILE: chain.deploymentFile,
    MODELDAO_DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    INDEXER_POLL_MS: '100',
    ...extra,
  });
  return startServer({ env, deployment: chain.deployment, withNext: false, log: () => {}, ...opts });
}
