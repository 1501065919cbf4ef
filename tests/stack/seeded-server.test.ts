import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelRegistryAbi, modelGovernorAbi } from '../../lib/contracts/generated.ts';
import { parseEnv } from '../../lib/env.ts';
import { startServer, type RunningServer } from '../../lib/server/main.ts';
import { seedDemoDao, type SeedResult } from '../../lib/devchain/seed.ts';
import { chainClient, freePort, startTestChain, type TestChain } from '../helpers/anvil.ts';
import { ProposalState } from '../../lib/chain/proposal-state.ts';

// The demo DAO as `npm run dev` builds it: a real chain, the real server (plain routes + indexer),
// the seed going through governance and the upload API.
describe('seeded local stack', () => {
  let chain: TestChain;
  let server: RunningServer;
  let seed: SeedResult;
  let dataDir: string;

  beforeAll(async () => {
    chain = await startTestChain();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-stack-'));
    const env = parseEnv({ ANVIL_PORT: String(chain.port), DEPLOYMENT_FILE: chain.deploymentFile, MODELDAO_DATA_DIR: dataDir, PORT: String(await freePort()) });
    server = await startServer({ env, withNext: false, log: () => {} });
    seed = await seedDemoDao({ rpcUrl: chain.rpcUrl, deployment: chain.deployment, baseUrl: server.url });
    await server.waitForIndex();
  });

  afterAll(async () => {
    await server?.close();
    await chain?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('health reports the chain, the deployed contracts and an index caught up with the head', async () => {
    const res = await fetch(`${server.url}/api/health`);
    expect(res.status).toBe(200);
    const h = await res.json();
    expect(h.chainId).toBe(31337);
    expect(h.contracts).toEqual(chain.deployment.contracts);
    expect(h.database).toBe('pglite');
    expect(h.lag).toBe(0);
    expect(h.indexedBlock).toBe(h.headBlock);
  });

  it('the demo model is registered and its version 1 is current on chain, approved by an executed proposal', async () => {
    const { ModelRegistry } = chain.deployment.contracts;
    const modelId = await chainClient(chain).readContract({ address: ModelRegistry, abi: modelRegistryAbi, functionName: 'modelIdOf', args: ['tiny-lm'] });
    const [version, digest] = await chainClient(chain).readContract({
      address: ModelRegistry,
      abi: modelRegistryAbi,
      functionName: 'currentVersion',
      args: [modelId],
    });
    expect(version).toBe(1);
    const api = await (await fetch(`${server.url}/api/models/tiny-lm/current`)).json();
    expect(api.manifestDigest).toBe(digest);
    expect(api.version).toBe(1);
  });

  it('the files the chain approved download with exactly the bytes the manifest names', async () => {
    const api = await (await fetch(`${server.url}/api/models/tiny-lm/current`)).json();
    const manifestBytes = Buffer.from(await (await fetch(api.manifestUrl)).arrayBuffer());
    expect('0x' + crypto.createHash('sha256').update(manifestBytes).digest('hex')).toBe(api.manifestDigest);
    for (const f of api.files) {
      const res = await fetch(f.url);
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBe(f.size);
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
  });

  it('leaves a second proposal open for voting, and only delegated accounts have voting power', async () => {
    const state = await chainClient(chain).readContract({
      address: chain.deployment.contracts.ModelGovernor,
      abi: modelGovernorAbi,
      functionName: 'state',
      args: [seed.openProposalId],
    });
    expect(state).toBe(ProposalState.Active);
    expect(seed.accounts.find((a) => a.label.startsWith('dave'))?.votingPower).toBe('0 votes');
    // #0–#3 delegated themselves; #7 delegated by signature and holds no ETH (it votes through the relayer)
    expect(seed.accounts.filter((a) => a.votingPower !== '0 votes')).toHaveLength(5);
    const gasless = seed.accounts.find((a) => a.label.startsWith('#7'))!;
    expect(gasless.votingPower).toBe('1000 votes');
    expect(await chainClient(chain).getBalance({ address: gasless.address as `0x${string}` })).toBe(0n);
  });
});
