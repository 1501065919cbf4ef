// Issue #16: kill -9 of the server while relayed votes are being submitted. After a restart on the
// same data dir no vote is lost (every request answered 202 lands without the member doing
// anything; the rest land when the member's client retries the same signed ballot) and none is
// submitted twice (the relayer's nonce on chain moves by exactly one per vote: a second transaction
// for a ballot already used would revert but still spend a nonce).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelGovernorAbi } from '../../lib/contracts/generated.ts';
import { ANVIL_RELAYER_KEY } from '../../lib/relay/secret.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { startServerProcess, tempDir, type UploadChain } from '../helpers/server-process.ts';
import { postRelay, startRelayDao, waitForRelay, type RelayDao } from '../helpers/relay.ts';
import type { RelayVoteBody } from '../../lib/relay/typed-data.ts';

let dao: RelayDao;
const dataDir = tempDir('modeldao-relay-kill9-');
const relayer = privateKeyToAccount(ANVIL_RELAYER_KEY).address;

beforeAll(async () => {
  dao = await startRelayDao({ voters: 16 });
}, 300_000);
afterAll(async () => {
  await dao?.chain.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function asUploadChain(d: RelayDao): UploadChain {
  return { anvil: d.chain, deployment: d.chain.deployment, deploymentFile: d.chain.deploymentFile, auth: async () => '', stop: () => d.chain.stop() };
}

describe('kill -9 of the server mid-submission', () => {
  it('RELAY-KILL9: after a restart no relayed vote is lost or submitted twice', async () => {
    const chain = asUploadChain(dao);
    const env = { RELAY_POLL_MS: '100', INDEXER_POLL_MS: '200' };
    // a loaded machine can take minutes to start a server (tsx, PGlite migrations)
    const startTimeoutMs = 240_000;
    const startNonce = await dao.nonceOf(relayer);
    const bodies: RelayVoteBody[] = await Promise.all(dao.voters.map((v, i) => dao.ballot(v, { support: (i % 3) as 0 | 1 | 2 })));
    const answered = new Map<number, string>();

    // Two rounds: kill as soon as the first answer of a burst arrives (the rest are mid-flight).
    for (const round of [bodies.slice(0, 8), bodies.slice(8)]) {
      const server = await startServerProcess({ chain, dataDir, env, startTimeoutMs });
      let killed: Promise<void> | null = null;
      await Promise.all(
        round.map(async (body) => {
          const i = bodies.indexOf(body);
          try {
            const r = await postRelay(server.url, 'vote', body);
            if (r.status === 202) answered.set(i, String(r.json.id));
          } catch {
            // the connection died with the server: the client will retry
          }
          killed ??= server.kill9();
        }),
      );
      await killed;
    }
    expect(answered.size).toBeGreaterThan(0);

    const server = await startServerProcess({ chain, dataDir, env, startTimeoutMs });
    try {
      // The member's client retries every ballot that got no answer; answered ones are left alone.
      const ids = new Map(answered);
      for (const [i, body] of bodies.entries()) {
        if (ids.has(i)) continue;
        const r = await postRelay(server.url, 'vote', body);
        expect([200, 202]).toContain(r.status);
        ids.set(i, String(r.json.id));
      }
      const done = await Promise.all([...ids.values()].map((id) => waitForRelay(server.url, id)));
      expect(done.map((d) => d.status)).toEqual(done.map(() => 'mined'));
      // answered before the kill: the same request, carried out without a retry
      for (const [i, id] of answered) expect(ids.get(i)).toBe(id);
      for (const v of dao.voters) {
        const voted = await dao.client.readContract({
          address: dao.chain.deployment.contracts.ModelGovernor,
          abi: modelGovernorAbi,
          functionName: 'hasVoted',
          args: [dao.proposalId, v.address],
        });
        expect(voted).toBe(true);
      }
      expect(await dao.nonceOf(relayer)).toBe(startNonce + bodies.length);
      expect(new Set(done.map((d) => d.nonce)).size).toBe(bodies.length);
    } finally {
      await server.stop();
    }
  }, 600_000);
});
