// Issue #16: gasless votes and delegations through the server's relayer, on a real anvil DAO whose
// voters hold tokens and voting power but no ETH. Every refusal is a JSON error code and sends no
// transaction (the relayer's nonce on chain is unchanged).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEther, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { modelGovernorAbi, modelTokenAbi } from '../../lib/contracts/generated.ts';
import { ANVIL_RELAYER_KEY } from '../../lib/relay/secret.ts';
import type { RelayPolicyView, RelayStatus } from '../../lib/relay/typed-data.ts';
import { call } from '../../lib/devchain/governance.ts';
import { DEV_ACCOUNTS, freePort, rpc } from '../helpers/anvil.ts';
import { postRelay, setBalance, startRelayDao, waitForRelay, type RelayDao } from '../helpers/relay.ts';

let dao: RelayDao;
/** a second proposal open at the same time as dao.proposalId */
let second: bigint;
const servers: RunningServer[] = [];
const dirs: string[] = [];
const relayer = privateKeyToAccount(ANVIL_RELAYER_KEY);

async function start(env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-relay-'));
  dirs.push(dataDir);
  const server = await startServer({
    env: parseEnv({
      ANVIL_PORT: String(dao.chain.port),
      DEPLOYMENT_FILE: dao.chain.deploymentFile,
      MODELDAO_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      INDEXER_POLL_MS: '200',
      RELAY_POLL_MS: '100',
      ...env,
    }),
    withNext: false,
    log: () => {},
  });
  servers.push(server);
  return server;
}

const hasVoted = (voter: Address, proposalId = dao.proposalId) =>
  dao.client.readContract({
    address: dao.chain.deployment.contracts.ModelGovernor,
    abi: modelGovernorAbi,
    functionName: 'hasVoted',
    args: [proposalId, voter],
  });

const governorNonce = (voter: Address) =>
  dao.client.readContract({ address: dao.chain.deployment.contracts.ModelGovernor, abi: modelGovernorAbi, functionName: 'nonces', args: [voter] });

beforeAll(async () => {
  dao = await startRelayDao({ voters: 34 });
  const { ModelToken } = dao.chain.deployment.contracts;
  ({ proposalId: second } = await dao.gov.propose(
    DEV_ACCOUNTS[0].privateKey,
    [call(ModelToken, modelTokenAbi, 'transfer', [DEV_ACCOUNTS[0].address, 2n])],
    `# Second relay test proposal ${Date.now()}`,
  ));
  await dao.gov.waitForVotingStart(second);
});

afterAll(async () => {
  for (const s of servers) await s.close().catch(() => {});
  await dao?.chain.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('relay on the dev chain (default policy, anvil account #8 pays)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ RELAY_ACCOUNT_DAILY_LIMIT: '2' });
  });

  it('RELAY-001: a holder with no ETH votes with a signed ballot; the vote counts on chain and the status says mined', async () => {
    const voter = dao.voters[0]!;
    expect(await dao.client.getBalance({ address: voter.address })).toBe(0n);
    const before = await dao.nonceOf(relayer.address);
    const body = await dao.ballot(voter, { support: 1, reason: 'Relayed, **no gas**.' });
    const r = await postRelay(server.url, 'vote', body);
    expect([r.status, r.json.error ?? null]).toEqual([202, null]);
    const done = await waitForRelay(server.url, String(r.json.id));
    expect(done.status).toBe('mined');
    expect(done.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await hasVoted(voter.address)).toBe(true);
    const receipt = await dao.client.getTransactionReceipt({ hash: done.txHash as `0x${string}` });
    expect(receipt.from.toLowerCase()).toBe(relayer.address.toLowerCase());
    expect(await dao.nonceOf(relayer.address)).toBe(before + 1);

    // the same signed ballot again is the same request, not a second transaction
    const again = await postRelay(server.url, 'vote', body);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(r.json.id);
    expect(await dao.nonceOf(relayer.address)).toBe(before + 1);
  });

  it('RELAY-002: refusals are JSON error codes and send nothing', async () => {
    const before = await dao.nonceOf(relayer.address);
    const [a, b] = [dao.voters[1]!, dao.voters[2]!];
    const cases: [string, number, string, unknown][] = [
      ['signed by someone else', 400, 'invalid_signature', await dao.ballot(a, { signer: b })],
      ['wrong nonce', 409, 'bad_nonce', await dao.ballot(a, { nonce: 7n })],
      ['already voted', 409, 'already_voted', await dao.ballot(dao.voters[0]!)],
      ['unknown proposal', 404, 'unknown_proposal', await dao.ballot(a, { proposalId: 12345n })],
      ['malformed', 400, 'invalid_request', { proposalId: 'x', support: 1, voter: a.address, nonce: '0', signature: '0x' }],
      ['expired delegation', 400, 'expired', await dao.delegation(a, b.address, { expiry: 1n })],
      ['delegation with a wrong nonce', 409, 'bad_nonce', await dao.delegation(a, b.address, { nonce: 9n })],
    ];
    for (const [what, status, code, body] of cases) {
      const kind = 'delegatee' in (body as object) ? 'delegate' : 'vote';
      const r = await postRelay(server.url, kind, body);
      expect({ what, status: r.status, code: r.json.error?.code }).toEqual({ what, status, code });
      expect(typeof r.json.error?.message).toBe('string');
    }
    const tampered = { ...(await dao.ballot(a, { support: 1 })), support: 0 };
    const t = await postRelay(server.url, 'vote', tampered);
    expect([t.status, t.json.error?.code]).toEqual([400, 'invalid_signature']);
    expect(await dao.nonceOf(relayer.address)).toBe(before);
    expect(await hasVoted(a.address)).toBe(false);
  });

  it('RELAY-003: a relayed delegation moves the votes; the per-account daily limit then refuses', async () => {
    const [a, b] = [dao.voters[3]!, dao.voters[4]!];
    const token = dao.chain.deployment.contracts.ModelToken;
    const r1 = await postRelay(server.url, 'delegate', await dao.delegation(a, b.address));
    expect(r1.status).toBe(202);
    expect((await waitForRelay(server.url, String(r1.json.id))).status).toBe('mined');
    expect(await dao.client.readContract({ address: token, abi: modelTokenAbi, functionName: 'delegates', args: [a.address] })).toBe(b.address);
    const r2 = await postRelay(server.url, 'delegate', await dao.delegation(a, a.address));
    expect(r2.status).toBe(202);
    await waitForRelay(server.url, String(r2.json.id));
    const before = await dao.nonceOf(relayer.address);
    const r3 = await postRelay(server.url, 'vote', await dao.ballot(a));
    expect([r3.status, r3.json.error?.code]).toEqual([429, 'account_limit']);
    expect(await dao.nonceOf(relayer.address)).toBe(before);
  });

  it('RELAY-004: 20 concurrent relayed votes from different accounts all land, each with its own relayer nonce', async () => {
    const voters = dao.voters.slice(10, 30);
    const bodies = await Promise.all(voters.map((v, i) => dao.ballot(v, { support: (i % 3) as 0 | 1 | 2 })));
    const before = await dao.nonceOf(relayer.address);
    const answers = await Promise.all(bodies.map((b) => postRelay(server.url, 'vote', b)));
    expect(answers.map((a) => a.status)).toEqual(voters.map(() => 202));
    const done = await Promise.all(answers.map((a) => waitForRelay(server.url, String(a.json.id))));
    expect(done.map((d) => d.status)).toEqual(voters.map(() => 'mined'));
    const nonces = done.map((d) => d.nonce).sort((x, y) => x - y);
    expect(nonces).toEqual(Array.from({ length: 20 }, (_, i) => before + i));
    for (const v of voters) expect(await hasVoted(v.address)).toBe(true);
    expect(await dao.nonceOf(relayer.address)).toBe(before + 20);
  });

  it('RELAY-011: ballots for two open proposals signed with the same nonce are both relayed and both count; another ballot on the same proposal is refused', async () => {
    const voter = dao.voters[9]!;
    // signed before either is sent, as a member voting on two proposals in a row does
    const nonce = await governorNonce(voter.address);
    const [b1, b2] = await Promise.all([
      dao.ballot(voter, { proposalId: dao.proposalId, support: 1, nonce }),
      dao.ballot(voter, { proposalId: second, support: 0, reason: 'Against the second one.', nonce }),
    ]);
    const answers = await Promise.all([postRelay(server.url, 'vote', b1), postRelay(server.url, 'vote', b2)]);
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    const done = await Promise.all(answers.map((a) => waitForRelay(server.url, String(a.json.id))));
    expect(done.map((d) => d.status)).toEqual(['mined', 'mined']);
    expect([await hasVoted(voter.address, dao.proposalId), await hasVoted(voter.address, second)]).toEqual([true, true]);
    // the governor checks the ballot nonce but does not consume it
    expect(await governorNonce(voter.address)).toBe(nonce);

    // the same ballot again answers its request; a different ballot on a proposal already voted sends nothing
    const before = await dao.nonceOf(relayer.address);
    const again = await postRelay(server.url, 'vote', b2);
    expect([again.status, again.json.id]).toEqual([200, answers[1]!.json.id]);
    const other = await postRelay(server.url, 'vote', await dao.ballot(voter, { proposalId: second, support: 1 }));
    expect([other.status, other.json.error?.code]).toEqual([409, 'already_voted']);
    expect(await dao.nonceOf(relayer.address)).toBe(before);
  });

  it('RELAY-005: GET /api/relay/policy shows the policy and spending, never the key', async () => {
    const res = await fetch(`${server.url}/api/relay/policy`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(ANVIL_RELAYER_KEY.slice(2));
    const p = JSON.parse(text) as RelayPolicyView;
    expect(p.enabled).toBe(true);
    expect(p.relayer).toBe(relayer.address);
    expect(p.accountDailyLimit).toBe(2);
    expect(BigInt(p.spentTodayWei)).toBeGreaterThan(0n);
    const missing = await fetch(`${server.url}/api/relay/00000000-0000-0000-0000-000000000000`);
    expect([missing.status, ((await missing.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
  });
});

describe('the operator’s limits', () => {
  it('RELAY-006: over the daily budget → 503 over_budget; nothing sent', async () => {
    const key = DEV_ACCOUNTS[7];
    const server = await start({ RELAY_PRIVATE_KEY: key.privateKey, RELAY_DAILY_BUDGET_WEI: '1000' });
    const before = await dao.nonceOf(key.address);
    const r = await postRelay(server.url, 'vote', await dao.ballot(dao.voters[5]!));
    expect([r.status, r.json.error?.code]).toEqual([503, 'over_budget']);
    expect(await dao.nonceOf(key.address)).toBe(before);
  });

  it('RELAY-007: relayer out of ETH → 503 relayer_out_of_funds; nothing sent', async () => {
    const key = DEV_ACCOUNTS[6];
    await setBalance(dao.chain.rpcUrl, key.address, parseEther('0.00000001'));
    const server = await start({ RELAY_PRIVATE_KEY: key.privateKey });
    const r = await postRelay(server.url, 'vote', await dao.ballot(dao.voters[6]!));
    expect([r.status, r.json.error?.code]).toEqual([503, 'relayer_out_of_funds']);
    expect(await dao.nonceOf(key.address)).toBe(0);
    expect(await hasVoted(dao.voters[6]!.address)).toBe(false);
  });

  it('RELAY-008: relay off → 503 relay_disabled; proposals the operator does not cover → 403 not_eligible', async () => {
    const off = await start({ RELAY_ENABLED: 'false' });
    const r = await postRelay(off.url, 'vote', await dao.ballot(dao.voters[7]!));
    expect([r.status, r.json.error?.code]).toEqual([503, 'relay_disabled']);
    expect(((await (await fetch(`${off.url}/api/relay/policy`)).json()) as RelayPolicyView).enabled).toBe(false);

    const key = DEV_ACCOUNTS[5];
    const picky = await start({ RELAY_PRIVATE_KEY: key.privateKey, RELAY_PROPOSALS: '1' });
    const before = await dao.nonceOf(key.address);
    const p = await postRelay(picky.url, 'vote', await dao.ballot(dao.voters[7]!));
    expect([p.status, p.json.error?.code]).toEqual([403, 'not_eligible']);
    expect(await dao.nonceOf(key.address)).toBe(before);
  });

  it('RELAY-009: the relayer key is refused in the wrong places and never printed', async () => {
    expect(() => parseEnv({ CHAIN_ID: '1', RELAY_ENABLED: 'true' })).toThrow(/RELAY_PRIVATE_KEY/);
    expect(parseEnv({ CHAIN_ID: '1' }).relay.enabled).toBe(false);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-relaykey-')), 'key');
    dirs.push(path.dirname(file));
    fs.writeFileSync(file, `${DEV_ACCOUNTS[5].privateKey}\n`);
    const env = parseEnv({ CHAIN_ID: '10', RELAY_ENABLED: 'true', RELAY_PRIVATE_KEY_FILE: file });
    expect(env.relay.key?.reveal()).toBe(DEV_ACCOUNTS[5].privateKey);
    const printed =
      JSON.stringify(env, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) +
      String(env.relay.key) +
      (await import('node:util')).inspect(env, { depth: 5 });
    expect(printed).not.toContain(DEV_ACCOUNTS[5].privateKey.slice(2));
    fs.writeFileSync(file, 'not a key');
    expect(() => parseEnv({ CHAIN_ID: '10', RELAY_ENABLED: 'true', RELAY_PRIVATE_KEY_FILE: file })).toThrow(/must hold 0x/);
  });

  it('RELAY-012: gas above the operator’s price ceiling → 503 gas_price_too_high with Retry-After; nothing sent', async () => {
    const key = DEV_ACCOUNTS[3];
    // a ceiling of 1 wei per gas: anvil's fees are always above it
    const server = await start({ RELAY_PRIVATE_KEY: key.privateKey, RELAY_MAX_GAS_PRICE_GWEI: '0.000000001' });
    const voter = dao.voters[30]!;
    const before = await dao.nonceOf(key.address);
    const res = await fetch(`${server.url}/api/relay/vote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await dao.ballot(voter)),
    });
    const json = (await res.json()) as { error?: { code: string; message: string } };
    expect([res.status, json.error?.code, res.headers.get('retry-after')]).toEqual([503, 'gas_price_too_high', '60']);
    expect(json.error?.message).toMatch(/ceiling of 1 wei/);
    expect(await dao.nonceOf(key.address)).toBe(before);
    expect(await hasVoted(voter.address)).toBe(false);
  });

  it('RELAY-013: past the per-proposal limit → 429 proposal_limit and nothing sent; other proposals still relayed', async () => {
    const key = DEV_ACCOUNTS[2];
    const server = await start({ RELAY_PRIVATE_KEY: key.privateKey, RELAY_PROPOSAL_LIMIT: '1' });
    const [a, b] = [dao.voters[31]!, dao.voters[32]!];
    const first = await postRelay(server.url, 'vote', await dao.ballot(a, { proposalId: second }));
    expect(first.status).toBe(202);
    expect((await waitForRelay(server.url, String(first.json.id))).status).toBe('mined');
    const before = await dao.nonceOf(key.address);
    const over = await postRelay(server.url, 'vote', await dao.ballot(b, { proposalId: second }));
    expect([over.status, over.json.error?.code]).toEqual([429, 'proposal_limit']);
    expect(await dao.nonceOf(key.address)).toBe(before);
    expect(await hasVoted(b.address, second)).toBe(false);
    // the limit is per proposal: the same member's vote on the other proposal goes through
    const elsewhere = await postRelay(server.url, 'vote', await dao.ballot(b, { proposalId: dao.proposalId }));
    expect(elsewhere.status).toBe(202);
    expect((await waitForRelay(server.url, String(elsewhere.json.id))).status).toBe('mined');
    expect(await hasVoted(b.address, dao.proposalId)).toBe(true);
  });
});

describe('a stuck transaction', () => {
  it('RELAY-010: is replaced with the same nonce and higher fees, and only one of them lands', async () => {
    const key = DEV_ACCOUNTS[4];
    const server = await start({ RELAY_PRIVATE_KEY: key.privateKey, RELAY_STUCK_SECONDS: '0.5' });
    const voter = dao.voters[8]!;
    const before = await dao.nonceOf(key.address);
    await rpc(dao.chain.rpcUrl, 'evm_setAutomine', [false]);
    let id = '';
    try {
      const r = await postRelay(server.url, 'vote', await dao.ballot(voter));
      expect(r.status).toBe(202);
      id = String(r.json.id);
      // not mined (automine off): the monitor replaces it once it is older than RELAY_STUCK_SECONDS
      const deadline = Date.now() + 60_000;
      let s: RelayStatus;
      for (;;) {
        s = (await (await fetch(`${server.url}/api/relay/${id}`)).json()) as RelayStatus;
        if (s.txHashes.length >= 2) break;
        if (Date.now() > deadline) throw new Error('no replacement within 60 s');
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(s.status).toBe('submitted');
      expect(new Set(s.txHashes).size).toBe(s.txHashes.length);
    } finally {
      await rpc(dao.chain.rpcUrl, 'evm_setAutomine', [true]);
    }
    await rpc(dao.chain.rpcUrl, 'evm_mine');
    const done = await waitForRelay(server.url, id);
    expect(done.status).toBe('mined');
    expect(done.txHashes.length).toBeGreaterThanOrEqual(2);
    expect(done.txHashes).toContain(done.txHash);
    expect(await hasVoted(voter.address)).toBe(true);
    expect(await dao.nonceOf(key.address)).toBe(before + 1);
  });
});
