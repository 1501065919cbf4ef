import { sendJson, type Route } from '../http.ts';
import type { BaseContext } from '../context.ts';
import type { AccessRouteContext } from './access.ts';

/** GET /api/health: which chain and contracts this server serves, and how far the index has got. */
export const routes: Route<BaseContext & AccessRouteContext>[] = [
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/health\/?$/,
    async handle(_req, res, _params, ctx) {
      let headBlock: number | null = null;
      let chainId: number | null = null;
      let rpcError: string | undefined;
      try {
        const [id, head] = await Promise.all([ctx.publicClient.getChainId(), ctx.publicClient.getBlockNumber({ cacheTime: 500 })]);
        chainId = id;
        headBlock = Number(head);
      } catch (err) {
        rpcError = err instanceof Error ? err.message.split('\n')[0] : String(err);
      }
      const status = ctx.indexer.status();
      const indexedBlock = status.indexedBlock;
      const ok = rpcError === undefined && chainId === ctx.deployment.chainId;
      sendJson(
        res,
        ok ? 200 : 503,
        {
          ok,
          chainId,
          expectedChainId: ctx.deployment.chainId,
          contracts: ctx.deployment.contracts,
          deployBlock: ctx.deployment.deployBlock,
          guardian: ctx.deployment.guardian,
          // what a signed AccessRequest must name as its `audience` here (lib/access/request.ts)
          audience: ctx.access.audiences()[0],
          audiences: ctx.access.audiences(),
          indexedBlock,
          headBlock,
          lag: headBlock !== null && indexedBlock !== null ? Math.max(0, headBlock - indexedBlock) : null,
          indexer: status.error ? { error: status.error } : { running: true },
          database: ctx.databaseKind,
          store: ctx.env.storeDir,
          // the embedded IPFS node (IPFS_LISTEN): what another node dials to fetch approved blocks
          ipfs: ctx.ipfs ? { enabled: true, ...ctx.ipfs.info() } : { enabled: false },
          ...(rpcError ? { error: { code: 'rpc_unavailable', message: rpcError } } : {}),
        },
        { 'cache-control': 'no-store' },
      );
    },
  },
];
