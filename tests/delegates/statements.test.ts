import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTypedData, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { statementToJson, statementTypedData, type DelegateStatement } from '../../lib/delegates/statement.ts';
import { DEV_ACCOUNTS, freePort, startTestChain, type TestChain } from '../helpers/anvil.ts';
import { repoRoot } from '../../lib/repo-root.ts';

// Delegate statements through the real server (plain routes, PGlite) on a real deployment: the
// signature is checked on write and served with the statement; an edit needs a later issuedAt; a
// statement signed by anyone but the delegate is refused and changes nothing.
describe('delegate statements API', () => {
  let chain: TestChain;
  let server: RunningServer;
  let dataDir: string;
  const alice = privateKeyToAccount(DEV_ACCOUNTS[1]!.privateKey as Hex);
  const bob = privateKeyToAccount(DEV_ACCOUNTS[2]!.privateKey as Hex);
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    chain = await startTestChain();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-statements-'));
    const env = parseEnv({ ANVIL_PORT: String(chain.port), DEPLOYMENT_FILE: chain.deploymentFile, MODELDAO_DATA_DIR: dataDir, PORT: String(await freePort()) });
    server = await startServer({ env, withNext: false, log: () => {} });
  });
  afterAll(async () => {
    await server?.close();
    await chain?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const governor = () => chain.deployment.contracts.ModelGovernor;
  const statementOf = (delegate: Address, over: Partial<DelegateStatement> = {}): DelegateStatement => ({
    delegate,
    name: 'Alice',
    statement: '## Why me\n\nI read every manifest diff.',
    links: ['https://alice.example/profile'],
    models: ['tiny-lm'],
    issuedAt: BigInt(now()),
    expiry: BigInt(now() + 600),
    ...over,
  });
  const sign = (signer: typeof alice, s: DelegateStatement, chainId = chain.deployment.chainId, gov: Address = governor()) =>
    signer.signTypedData(statementTypedData(chainId, gov, s));
  const put = (address: string, body: unknown) =>
    fetch(`${server.url}/api/delegates/${address}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const get = async (address: string) => fetch(`${server.url}/api/delegates/${address}`);

  it('stores a statement signed by the delegate and serves it with a signature anyone can verify', async () => {
    const s = statementOf(alice.address);
    const signature = await sign(alice, s);
    const res = await put(alice.address, { statement: statementToJson(s), signature });
    expect(res.status).toBe(200);
    const served = await (await get(alice.address.toLowerCase())).json();
    expect(served.statement.name).toBe('Alice');
    expect(served.statement.statement).toBe(s.statement);
    expect(served.signature).toBe(signature);
    expect(served.domain).toEqual({ name: 'modeldao delegate statement', version: '1', chainId: chain.deployment.chainId, verifyingContract: governor() });
    // a reader checks it from the served JSON alone
    const ok = await verifyTypedData({
      address: alice.address,
      domain: served.domain,
      types: served.types,
      primaryType: served.primaryType,
      message: { ...served.statement, issuedAt: BigInt(served.statement.issuedAt), expiry: BigInt(served.statement.expiry) },
      signature: served.signature,
    });
    expect(ok).toBe(true);
    const list = await (await fetch(`${server.url}/api/delegates`)).json();
    expect(list.statements.map((x: { statement: { delegate: string } }) => x.statement.delegate)).toContain(alice.address.toLowerCase());
  });

  it('an edit replaces the statement only when it was signed later; an older or equal one is refused with 409', async () => {
    const t = now() + 5;
    const newer = statementOf(alice.address, { statement: 'Edited: I also run the evals.', issuedAt: BigInt(t), expiry: BigInt(t + 600) });
    const r1 = await put(alice.address, { statement: statementToJson(newer), signature: await sign(alice, newer) });
    expect(r1.status).toBe(200);
    const older = statementOf(alice.address, { statement: 'Replayed old text', issuedAt: BigInt(t - 3), expiry: BigInt(t + 600) });
    const r2 = await put(alice.address, { statement: statementToJson(older), signature: await sign(alice, older) });
    expect(r2.status).toBe(409);
    expect((await r2.json()).error.code).toBe('stale_statement');
    const same = statementOf(alice.address, { statement: 'Same second, other text', issuedAt: BigInt(t), expiry: BigInt(t + 600) });
    expect((await put(alice.address, { statement: statementToJson(same), signature: await sign(alice, same) })).status).toBe(409);
    expect((await (await get(alice.address)).json()).statement.statement).toBe('Edited: I also run the evals.');
  });

  it('refuses a statement for one address signed by another (403), and stores nothing', async () => {
    const s = statementOf(bob.address, { name: 'Bob (really Alice)' });
    const res = await put(bob.address, { statement: statementToJson(s), signature: await sign(alice, s) });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body.error.code).toBe('wrong_signer');
    expect((await get(bob.address)).status).toBe(404);
    expect((await (await get(bob.address)).json()).error.code).toBe('no_statement');
  });

  it('refuses a signature bound to another chain or governor, or over other text (403)', async () => {
    const s = statementOf(bob.address, { name: 'Bob' });
    const otherChain = await sign(bob, s, 1);
    const otherGov = await sign(bob, s, chain.deployment.chainId, chain.deployment.contracts.ModelRegistry);
    const good = await sign(bob, s);
    for (const [statement, signature] of [
      [s, otherChain],
      [s, otherGov],
      [{ ...s, statement: 'tampered after signing' }, good],
    ] as const) {
      const res = await put(bob.address, { statement: statementToJson(statement), signature });
      expect(res.status).toBe(403);
    }
    expect((await get(bob.address)).status).toBe(404);
  });

  it('answers bad input with clear JSON errors', async () => {
    const s = statementOf(bob.address);
    const sig = await sign(bob, s);
    const cases: [string, unknown, number, string][] = [
      [alice.address, { statement: statementToJson(s), signature: sig }, 400, 'address_mismatch'],
      ['0x1234', { statement: statementToJson(s), signature: sig }, 400, 'invalid_address'],
      [bob.address, { statement: statementToJson(s) }, 401, 'invalid_signature'],
      [bob.address, { statement: { ...statementToJson(s), links: ['javascript:alert(1)'] }, signature: sig }, 400, 'invalid_statement'],
      [bob.address, { statement: { ...statementToJson(s), name: '' }, signature: sig }, 400, 'invalid_statement'],
      [bob.address, { statement: { ...statementToJson(s), statement: 'x'.repeat(20_001) }, signature: sig }, 400, 'invalid_statement'],
    ];
    for (const [address, body, status, code] of cases) {
      const res = await put(address, body);
      expect(res.status, code).toBe(status);
      expect((await res.json()).error.code).toBe(code);
    }
    const expired = statementOf(bob.address, { issuedAt: BigInt(now() - 700), expiry: BigInt(now() - 100) });
    const res = await put(bob.address, { statement: statementToJson(expired), signature: await sign(bob, expired) });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('statement_signature_expired');
    const notJson = await fetch(`${server.url}/api/delegates/${bob.address}`, { method: 'PUT', body: '{' });
    expect(notJson.status).toBe(400);
    expect((await get(bob.address)).status).toBe(404);
  });

  it("accepts a statement signed by another EIP-712 implementation (Foundry's cast)", async () => {
    const s = statementOf(bob.address, { name: 'Bob via cast', links: [], models: [] });
    const td = statementTypedData(chain.deployment.chainId, governor(), s);
    const file = path.join(dataDir, 'statement.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        types: {
          EIP712Domain: [
            { name: 'name', type: 'string' },
            { name: 'version', type: 'string' },
            { name: 'chainId', type: 'uint256' },
            { name: 'verifyingContract', type: 'address' },
          ],
          ...td.types,
        },
        primaryType: td.primaryType,
        domain: td.domain,
        message: statementToJson(s),
      }),
    );
    const cast = path.join(repoRoot, 'node_modules/@foundry-rs/cast-linux-amd64/bin/cast');
    const signature = execFileSync(cast, ['wallet', 'sign', '--private-key', DEV_ACCOUNTS[2]!.privateKey, '--data', '--from-file', file], {
      encoding: 'utf8',
    }).trim();
    const res = await put(bob.address, { statement: statementToJson(s), signature });
    expect(res.status).toBe(200);
    expect((await (await get(bob.address)).json()).statement.name).toBe('Bob via cast');
  });
});
