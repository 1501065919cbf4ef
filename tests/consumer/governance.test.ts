// The whole consumer story on the real server (lib/server/main.ts, plain API, in-process indexer):
// a maintainer runs `modeldao propose` (upload, manifest, governor proposal), token holders pass it
// through real governance (vote, queue, execute), and a consumer `modeldao pull`s the version the
// chain approved. The model itself is registered through the impersonated timelock (a shortcut:
// registration is not what this test is about).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, type Hex } from 'viem';
import { modelRegistryAbi } from '../../lib/contracts/generated.ts';
import { Governance, Support } from '../../lib/devchain/governance.ts';
import type { RunningServer } from '../../lib/server/main.ts';
import { startTestServer } from '../helpers/test-server.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import { ACCESS, asGuardian, asTimelock, modelIdOf, sha256, startTestChain, tmpDir, type TestChain } from '../helpers/consumer.ts';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'cli', 'modeldao.mjs');
let chain: TestChain;
let server: RunningServer;
let work: string;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { ...process.env, MODELDAO_CACHE: path.join(work, 'cache'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = tmpDir();
  chain = await startTestChain();
  server = await startTestServer(chain, path.join(work, 'data'));
}, 180_000);

afterAll(async () => {
  await server?.close();
  await chain?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('publish through governance, then pull', () => {
  it('a version proposed with `modeldao propose` and executed by the DAO is what `modeldao pull` fetches and verifies', async () => {
    const gov = new Governance(chain.rpcUrl, chain.deployment);
    const voters = [DEV_ACCOUNTS[0], DEV_ACCOUNTS[1], DEV_ACCOUNTS[2]];
    for (const v of voters) await gov.delegate(v.privateKey);
    await asTimelock(chain, 'registerModel', ['gov-lm', { kind: ACCESS.Public, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]);

    const weights = path.join(work, 'model.bin');
    const config = path.join(work, 'config.json');
    fs.writeFileSync(weights, crypto.randomBytes(3 * 1024 * 1024 + 5));
    fs.writeFileSync(config, '{"hidden":64}');
    const chainArgs = ['--rpc', chain.rpcUrl, '--deployment', chain.deploymentFile, '--gateway', server.url];
    // The next block's timestamp must be past the token's checkpoint for getVotes(clock - 1).
    await gov.client.request({ method: 'evm_increaseTime' as never, params: [2] as never });
    await gov.client.request({ method: 'evm_mine' as never, params: [] as never });
    const proposed = await run(['propose', 'gov-lm', weights, config, '--description', 'Publish gov-lm v1', '--json', ...chainArgs], {
      MODELDAO_PRIVATE_KEY: DEV_ACCOUNTS[0].privateKey,
    });
    expect(proposed.stderr).toBe('');
    expect(proposed.code).toBe(0);
    const p = JSON.parse(proposed.stdout) as {
      proposalId: string;
      url: string;
      manifestDigest: Hex;
      modelId: string;
      parentVersion: number;
      description: string;
    };
    expect(p.url).toBe(`${server.url}/proposals/${p.proposalId}`);
    expect(p.description).toMatch(new RegExp(`#proposer=${DEV_ACCOUNTS[0].address}$`));

    const actions = [
      {
        target: chain.deployment.contracts.ModelRegistry,
        data: encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [BigInt(p.modelId), p.manifestDigest, p.parentVersion] }),
      },
    ];
    const id = BigInt(p.proposalId);
    await gov.waitForVotingStart(id);
    for (const v of voters) await gov.vote(v.privateKey, id, Support.For);
    await gov.waitForVotingEnd(id);
    await gov.queue(DEV_ACCOUNTS[0].privateKey, actions, p.description);
    await gov.waitForEta(id);
    await gov.execute(DEV_ACCOUNTS[0].privateKey, actions, p.description);
    await server.waitForIndex();

    const api = await (await fetch(`${server.url}/api/models/gov-lm/current`)).json();
    expect(api.manifestDigest).toBe(p.manifestDigest);
    expect(api.files.map((f: { path: string }) => f.path).sort()).toEqual(['config.json', 'model.bin']);
    expect(api.files[0].url).toMatch(new RegExp(`/api/blobs/[0-9a-f]{64}$`));

    const out = path.join(work, 'out');
    const pulled = await run(['pull', 'gov-lm', '--out', out, ...chainArgs]);
    expect(pulled.stderr).toMatch(/gov-lm v1 \(current\)/);
    expect(pulled.code).toBe(0);
    expect(sha256(fs.readFileSync(path.join(out, 'model.bin')))).toBe(sha256(fs.readFileSync(weights)));
    expect(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).toBe('{"hidden":64}');

    const status = await run(['status', 'gov-lm', ...chainArgs]);
    expect(status.stdout).toContain(`proposal ${p.proposalId}`);

    // The guardian revokes it: no current version any more, and the bytes are no longer served.
    await asGuardian(chain, 'revokeVersion', [await modelIdOf(chain, 'gov-lm'), 1]);
    await server.waitForIndex();
    const after = await run(['pull', 'gov-lm', '--cache', path.join(work, 'cache2'), ...chainArgs]);
    expect(after.code).toBe(4);
    expect((await fetch(`${server.url}/api/models/gov-lm/current`)).status).toBe(409);
    expect((await fetch(`${server.url}/api/models/gov-lm/versions/1`)).status).toBe(410);
  });
});
