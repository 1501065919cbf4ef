// The demo DAO: voting power spread over the dev accounts, the demo model `tiny-lm` registered and its
// version 1 approved through real governance, with real weights uploaded through the same HTTP path
// maintainers use (POST /api/uploads, POST /api/manifests). A second proposal (version 2, one tensor
// reshaped and one added, plus a treasury reward) is left open for voting.
import { formatUnits, parseUnits, type Hex } from 'viem';
import { modelRegistryAbi, modelTokenAbi } from '../contracts/generated.ts';
import type { Deployment } from '../contracts/deployment.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { DEV_ACCOUNTS, GUARDIAN_ACCOUNT, advanceTime, rpc } from './anvil.ts';
import { delegationTypedData, domainFromTuple } from '../relay/typed-data.ts';
import { demoModelV1, demoModelV2 } from './demo-weights.ts';
import { Governance, Support, call, type Action } from './governance.ts';
import { publishFiles } from './publish.ts';

export interface SeedResult {
  accounts: { label: string; address: string; votingPower: string }[];
  summary: string;
  openProposalId: bigint;
  /** The open v2 proposal as proposed, so a test (or a script) can vote, queue and execute it. */
  openProposal: { proposalId: bigint; actions: Action[]; description: string };
}

/** The end of the "running" banner of `npm run dev` and `npm run cluster`: the accounts, the demo, how to stop. */
export function seededBanner(seed: SeedResult): string {
  return `  Dev accounts (anvil's public test keys — never use them on a real chain)
${seed.accounts.map((a) => `    ${a.label.padEnd(24)} ${a.address}  ${a.votingPower}`).join('\n')}
    ${'guardian'.padEnd(24)} ${GUARDIAN_ACCOUNT.address}
  Private key of the first account: ${DEV_ACCOUNTS[0].privateKey}

  Demo: ${seed.summary}
  Ctrl-C stops everything.
`;
}

const [maintainer, alice, bob, carol, dave] = DEV_ACCOUNTS;
/** Holds tokens and voting power but no ETH: votes through the relayer (gasless). */
const gasless = DEV_ACCOUNTS[7];

export async function seedDemoDao(opts: { rpcUrl: string; deployment: Deployment; baseUrl: string; log?: (m: string) => void }): Promise<SeedResult> {
  const log = opts.log ?? (() => {});
  const gov = new Governance(opts.rpcUrl, opts.deployment);
  const { ModelToken, ModelRegistry } = opts.deployment.contracts;

  // Dave keeps his tokens undelegated: the app must tell him to delegate before he can vote.
  for (const a of [maintainer, alice, bob, carol]) await gov.delegate(a.privateKey);
  await seedGaslessHolder(gov, opts.rpcUrl);
  // Voting power counts from the next second on (timestamp clock: getVotes at clock() - 1).
  await advanceTime(opts.rpcUrl, 1);
  log('accounts #0–#3 delegated to themselves; #4 holds tokens without voting power');

  const v1 = await publishFiles({
    baseUrl: opts.baseUrl,
    privateKey: maintainer.privateKey,
    deployment: opts.deployment,
    model: 'tiny-lm',
    parent: null,
    files: demoModelV1().files,
    metadata: {
      license: 'apache-2.0',
      description:
        'A tiny demo Llama (1 layer, 64 hidden, byte-level BPE tokenizer), generated deterministically at seed time; loads with transformers AutoConfig/AutoTokenizer.',
      evals: [{ name: 'demo-perplexity', value: 42.0 }],
    },
  });
  log(`uploaded tiny-lm v1 (${v1.files.length} files), manifest ${v1.manifestDigest}`);

  const registerActions = [
    call(ModelRegistry, modelRegistryAbi, 'registerModel', ['tiny-lm', { kind: 0, token: '0x0000000000000000000000000000000000000000', minBalance: 0n }]),
    call(ModelRegistry, modelRegistryAbi, 'publishVersion', [1n, v1.manifestDigest, 0]),
  ];
  const first = await gov.passProposal({
    proposer: maintainer.privateKey,
    actions: registerActions,
    description: '# Register tiny-lm and approve version 1\n\nRegisters the demo model **tiny-lm** (public access) and approves its first weights.',
    votes: [
      { key: maintainer.privateKey, support: Support.For },
      { key: alice.privateKey, support: Support.For, reason: 'Checked the manifest and the safetensors header: looks right.' },
      { key: bob.privateKey, support: Support.For },
      { key: carol.privateKey, support: Support.Abstain },
    ],
  });
  log(`proposal ${first.proposalId} executed: tiny-lm v1 is the approved version`);

  const v2 = await publishFiles({
    baseUrl: opts.baseUrl,
    privateKey: maintainer.privateKey,
    deployment: opts.deployment,
    model: 'tiny-lm',
    parent: v1.manifestDigest,
    files: demoModelV2().files,
    metadata: { license: 'apache-2.0', description: 'Larger vocabulary (640) and an untied LM head.', evals: [{ name: 'demo-perplexity', value: 37.5 }] },
  });
  const reward = parseUnits('500', 18);
  const updateActions = [
    call(ModelRegistry, modelRegistryAbi, 'publishVersion', [1n, v2.manifestDigest, 1]),
    call(ModelToken, modelTokenAbi, 'transfer', [maintainer.address, reward]),
  ];
  // The unit named in the text is the token's own symbol (read from the chain), so the description
  // voters read matches the action summary beside it.
  const symbol = (await gov.client.readContract({ address: ModelToken, abi: modelTokenAbi, functionName: 'symbol' })) as string;
  const open = await gov.propose(
    maintainer.privateKey,
    updateActions,
    `# tiny-lm v2: larger vocabulary, untied LM head\n\nGrows the embedding from 512 to 640 tokens and adds a separate \`lm_head\`. Pays the maintainer 500 ${symbol} from the treasury.`,
  );
  await gov.waitForVotingStart(open.proposalId);
  await gov.vote(alice.privateKey, open.proposalId, Support.For, 'Eval improves; diff is what the description says.');
  log(`proposal ${open.proposalId} (tiny-lm v2 + reward) is open for voting`);

  const accounts = [];
  for (const [label, a] of [
    ['maintainer #0', maintainer],
    ['alice #1', alice],
    ['bob #2', bob],
    ['carol #3', carol],
    ['dave #4 (no delegation)', dave],
    ['#7 (no ETH: votes gasless)', gasless],
  ] as const) {
    const votes = (await gov.client.readContract({ address: ModelToken, abi: modelTokenAbi, functionName: 'getVotes', args: [a.address] })) as bigint;
    accounts.push({ label, address: a.address, votingPower: `${formatUnits(votes, 18)} votes` });
  }
  return {
    accounts,
    openProposalId: open.proposalId,
    openProposal: { proposalId: open.proposalId, actions: updateActions, description: open.description },
    summary: `tiny-lm v1 approved by proposal ${String(first.proposalId).slice(0, 12)}…; v2 proposal open for voting`,
  };
}

export type { Hex };

/**
 * Dev account #7: 1,000 tokens from the maintainer, delegated to itself by a signature (delegateBySig,
 * sent by the maintainer), and its ETH set to zero: it can vote on the open proposal only through the
 * relayer (POST /api/relay/vote), which is what `npm run dev` shows off.
 */
async function seedGaslessHolder(gov: Governance, rpcUrl: string): Promise<void> {
  const token = gov.deployment.contracts.ModelToken;
  const w = gov.wallet(maintainer.privateKey);
  const send = async (hash: Hex) => {
    const r = await gov.client.waitForTransactionReceipt({ hash });
    if (r.status !== 'success') throw new Error(`seeding the gasless holder failed (tx ${hash})`);
  };
  await send(
    await w.writeContract({
      address: token,
      abi: modelTokenAbi,
      functionName: 'transfer',
      args: [gasless.address, parseUnits('1000', 18)],
      account: w.account,
      chain: w.chain,
    }),
  );
  const domain = domainFromTuple(await gov.client.readContract({ address: token, abi: modelTokenAbi, functionName: 'eip712Domain' }));
  const block = await gov.client.getBlock({ blockTag: 'latest' });
  const message = { delegatee: gasless.address, nonce: 0n, expiry: block.timestamp + 3600n };
  const sig = await privateKeyToAccount(gasless.privateKey).signTypedData(delegationTypedData(domain, message));
  const v = parseInt(sig.slice(130, 132), 16);
  await send(
    await w.writeContract({
      address: token,
      abi: modelTokenAbi,
      functionName: 'delegateBySig',
      args: [message.delegatee, message.nonce, message.expiry, v, `0x${sig.slice(2, 66)}`, `0x${sig.slice(66, 130)}`],
      account: w.account,
      chain: w.chain,
    }),
  );
  await rpc(rpcUrl, 'anvil_setBalance', [gasless.address, '0x0']);
}
