import { hashTypedData, recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { HttpError, readJsonBody, sendJson, type Route } from '../http.ts';
import type { BaseContext } from '../context.ts';
import { StatementError, checkStatementWindow, parseStatement, statementTypedData } from '../../delegates/statement.ts';
import { getStatement, listStatements, putStatement } from '../../delegates/store.ts';

// Delegate statements (#16), signed with EIP-712 by the delegate (lib/delegates/statement.ts).
//   PUT /api/delegates/{address}  body { statement: {delegate, name, statement, links, models, issuedAt, expiry}, signature }
//        200 → the stored statement with its signature and typed-data domain
//        400 invalid_statement / address_mismatch, 401 statement_signature_expired / invalid_signature,
//        403 wrong_signer (signed by another address), 409 stale_statement (not newer than the stored one)
//   GET  /api/delegates/{address} → 200 the stored statement (+ signature, domain, types) | 404 no_statement
//   GET  /api/delegates?limit=&offset= → 200 { statements: [...] }, most recently updated first

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$|^0x[0-9a-fA-F]{128}$/;

function pathAddress(v: string | undefined): string {
  if (!v || !ADDRESS.test(v)) throw new HttpError(400, 'invalid_address', 'the path must name a 0x address (40 hex characters)');
  return v.toLowerCase();
}

/** Does `signature` sign `typedData` for `signer`? EOAs by recovery; contract accounts (ERC-1271) on chain. */
async function signedBy(ctx: BaseContext, signer: Address, typedData: ReturnType<typeof statementTypedData>, signature: Hex): Promise<boolean> {
  let recovered: string | null = null;
  try {
    recovered = await recoverTypedDataAddress({ ...typedData, signature });
  } catch {
    recovered = null;
  }
  if (recovered && recovered.toLowerCase() === signer.toLowerCase()) return true;
  try {
    const code = await ctx.publicClient.getCode({ address: signer });
    if (!code || code === '0x') return false;
    return await ctx.publicClient.verifyHash({ address: signer, hash: hashTypedData(typedData), signature });
  } catch (err) {
    throw new StatementError('unavailable', 'chain_unavailable', `could not check the contract account's signature: ${(err as Error).message.split('\n')[0]}`);
  }
}

export const routes: Route<BaseContext>[] = [
  {
    methods: ['PUT'],
    pattern: /^\/api\/delegates\/(?<address>[^/]+)\/?$/,
    async handle(req, res, params, ctx) {
      const address = pathAddress(params.address);
      const body = (await readJsonBody(req, 64 * 1024)) as { statement?: unknown; signature?: unknown } | null;
      if (!body || typeof body !== 'object') throw new HttpError(400, 'invalid_statement', 'body must be { statement, signature }');
      const statement = parseStatement(body.statement);
      if (statement.delegate.toLowerCase() !== address)
        throw new HttpError(400, 'address_mismatch', `the statement is for ${statement.delegate}, not for ${params.address}`);
      if (typeof body.signature !== 'string' || !SIGNATURE.test(body.signature))
        throw new HttpError(401, 'invalid_signature', 'signature must be a 0x-hex EIP-712 signature by the delegate');
      checkStatementWindow(statement, Math.floor(Date.now() / 1000));
      const governor = ctx.deployment.contracts.ModelGovernor;
      const typedData = statementTypedData(ctx.deployment.chainId, governor, statement);
      const signature = body.signature as Hex;
      if (!(await signedBy(ctx, statement.delegate, typedData, signature))) {
        throw new HttpError(
          403,
          'wrong_signer',
          `the signature is not by ${statement.delegate} over this statement for chain ${ctx.deployment.chainId} and governor ${governor}; a delegate signs their own statement`,
        );
      }
      const stored = await putStatement(ctx.db, ctx.deployment.chainId, governor, statement, signature);
      if (!stored) throw new HttpError(409, 'stale_statement', 'a statement with the same or a later issuedAt is already published; sign the edit again');
      sendJson(res, 200, stored, { 'cache-control': 'no-store' });
    },
  },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/delegates\/(?<address>[^/]+)\/?$/,
    async handle(_req, res, params, ctx) {
      const address = pathAddress(params.address);
      const stored = await getStatement(ctx.db, ctx.deployment.chainId, ctx.deployment.contracts.ModelGovernor, address);
      if (!stored) throw new HttpError(404, 'no_statement', `${address} has published no statement`);
      sendJson(res, 200, stored, { 'cache-control': 'no-cache' });
    },
  },
  {
    methods: ['GET', 'HEAD'],
    pattern: /^\/api\/delegates\/?$/,
    async handle(req, res, _params, ctx) {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const num = (name: string, dflt: number, max: number) => {
        const v = q.get(name);
        if (v === null) return dflt;
        if (!/^[0-9]{1,6}$/.test(v) || Number(v) > max) throw new HttpError(400, 'invalid_query', `${name} must be an integer from 0 to ${max}`);
        return Number(v);
      };
      const statements = await listStatements(
        ctx.db,
        ctx.deployment.chainId,
        ctx.deployment.contracts.ModelGovernor,
        num('limit', 100, 500),
        num('offset', 0, 1_000_000),
      );
      sendJson(res, 200, { statements }, { 'cache-control': 'no-cache' });
    },
  },
];
