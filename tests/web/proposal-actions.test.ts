import { describe, expect, it } from 'vitest';
import { getAddress, parseEther, parseUnits, type Address, type Hex } from 'viem';
import { modelTokenAbi } from '../../lib/contracts/generated';
import { decodeActions, type DecodeContext } from '../../lib/web/actions';
import { shortAddress } from '../../lib/web/format';
import { buildActions, contractCall, type ModelOption, type ProposalFields } from '../../lib/web/proposal-actions';

// Every kind of proposal the form builds, read back the way voters read it (decodeActions): what the
// proposer asked for is what the voters are told.

const contracts = {
  token: '0x1000000000000000000000000000000000000001' as Address,
  governor: '0x2000000000000000000000000000000000000002' as Address,
  timelock: '0x3000000000000000000000000000000000000003' as Address,
  registry: '0x4000000000000000000000000000000000000004' as Address,
};
// checksummed, as the decoder prints them
const alice = getAddress('0xa11ce00000000000000000000000000000000a11');
const bob = getAddress('0xb0b0000000000000000000000000000000000b0b');
const digest = `0x${'ab'.repeat(32)}` as Hex;

const tinyLm: ModelOption = {
  modelId: '7',
  slug: 'tiny-lm',
  currentVersion: 2,
  currentDigest: `0x${'01'.repeat(32)}`,
  parent: { version: 2, digest: `0x${'01'.repeat(32)}`, status: 'Active' },
  accessKind: 'Public',
  versions: [
    { version: 1, status: 'Active' },
    { version: 2, status: 'Active' },
    { version: 3, status: 'Revoked' },
  ],
  allowlist: [],
  current: null,
};
const ctx = { contracts, models: [tinyLm] };
const read: DecodeContext = { contracts, slugs: { '7': 'tiny-lm' }, versionCounts: { '7': 3 }, tokenSymbol: 'MDAO' };

function votersRead(p: ProposalFields) {
  const built = buildActions(p, ctx);
  expect(built.problems).toEqual([]);
  const decoded = decodeActions(built.targets, built.values.map(String), built.calldatas, read);
  return { built, decoded, text: decoded.map((d) => d.summary) };
}

const rule = (kind: 0 | 1 | 2, token = '', minBalance = '0') => ({ kind, token, minBalance });

describe('buildActions → decodeActions: every kind reads back as what was asked', () => {
  it('publish: the stored manifest as a new version of the chosen model, descending from its parent', () => {
    const { decoded, text } = votersRead({
      fields: { kind: 'publish', uploads: { total: 2, pending: 0, failed: 0 }, manifestDigest: digest },
      model: tinyLm,
      reward: null,
    });
    expect(text).toEqual(['Publish version 4 of tiny-lm — parent v2; it becomes the current version']);
    expect(decoded[0]!.publish).toEqual({ modelId: '7', manifestDigest: digest, parentVersion: 2 });
    expect(decoded[0]!.warning).toBeNull();
  });

  it('register: a new slug with a TokenHolders rule of the DAO token', () => {
    const { text } = votersRead({ fields: { kind: 'register', slug: 'new-lm', rule: rule(1, contracts.token, '2.5') }, model: null, reward: null });
    expect(text).toEqual(['Register a new model “new-lm” with access: holders of at least 2.5 MDAO']);
  });

  it('access: a new rule, accounts added and accounts removed, in that order', () => {
    const { built, text } = votersRead({
      fields: { kind: 'access', rule: rule(2), allowAdd: `${alice}, ${bob}`, allowRemove: bob },
      model: tinyLm,
      reward: null,
    });
    expect(built.targets).toEqual([contracts.registry, contracts.registry, contracts.registry]);
    expect(text[0]).toBe('Change who may fetch tiny-lm: only allowlisted accounts');
    expect(text[1]).toBe(`Allow tiny-lm: ${shortAddress(alice)}, ${shortAddress(bob)} to fetch it`);
    expect(text[2]).toBe(`Remove from the allowlist of tiny-lm: ${shortAddress(bob)}`);
  });

  it('rollback and deprecate name the version', () => {
    expect(votersRead({ fields: { kind: 'rollback', version: '1' }, model: tinyLm, reward: null }).text).toEqual([
      'Make version 1 the current version of tiny-lm',
    ]);
    expect(votersRead({ fields: { kind: 'deprecate', version: '2' }, model: tinyLm, reward: null }).text).toEqual(['Deprecate version 2 of tiny-lm']);
  });

  it('a treasury reward is one more action: the exact token amount to the recipient', () => {
    const { built, text } = votersRead({ fields: { kind: 'deprecate', version: '1' }, model: tinyLm, reward: { to: alice, amount: '12.5' } });
    expect(built.targets).toEqual([contracts.registry, contracts.token]);
    expect(built.values).toEqual([0n, 0n]);
    expect(text[1]).toBe(`Send 12.5 MDAO from the treasury to ${alice}`);
  });

  it('an unknown target with an ETH value is decoded by signature, warned about, and its ETH shown', () => {
    const stranger = '0x5000000000000000000000000000000000000005' as Address;
    const call = contractCall(stranger, modelTokenAbi, 'transfer', [alice, parseUnits('3', 18)], parseEther('1.5'));
    const plainEth = { target: bob, value: parseEther('0.25'), calldata: '0x' as Hex };
    const decoded = decodeActions([call.target, plainEth.target], [call.value, plainEth.value].map(String), [call.calldata, plainEth.calldata], read);
    expect(decoded[0]!.contract).toBe('unknown');
    expect(decoded[0]!.summary).toBe(`Call transfer(${alice}, ${parseUnits('3', 18)}) on ${stranger} and send 1.5 ETH`);
    expect(decoded[0]!.warning).toMatch(/Unknown contract/);
    expect(decoded[1]!.summary).toBe(`Send 0.25 ETH from the treasury to ${bob}`);
  });

  it('an ETH value on a DAO contract call is part of what voters read', () => {
    const call = contractCall(contracts.registry, modelTokenAbi, 'delegate', [alice]); // selector the registry lacks
    const withEth = contractCall(contracts.token, modelTokenAbi, 'delegate', [alice], parseEther('2'));
    const decoded = decodeActions([withEth.target, call.target], [withEth.value, call.value].map(String), [withEth.calldata, call.calldata], read);
    expect(decoded[0]!.summary).toBe(`Delegate the treasury's votes to ${alice} and send 2 ETH`);
    expect(decoded[1]!.warning).not.toBeNull(); // a registry target with calldata the registry does not have
  });
});

describe('buildActions refuses what cannot be proposed, in words', () => {
  const problems = (p: ProposalFields) => buildActions(p, ctx).problems;
  it('publish before the manifest is stored, with uploads pending or failed, or identical to the current version', () => {
    expect(problems({ fields: { kind: 'publish', uploads: { total: 0, pending: 0, failed: 0 }, manifestDigest: null }, model: tinyLm, reward: null })).toEqual([
      'Add the files of the new version.',
      'Store the manifest first (button above the diff).',
    ]);
    expect(
      problems({ fields: { kind: 'publish', uploads: { total: 3, pending: 1, failed: 1 }, manifestDigest: digest }, model: tinyLm, reward: null }),
    ).toEqual(['Wait for every upload to finish.', 'Remove or retry the files that failed to upload.']);
    expect(
      problems({
        fields: { kind: 'publish', uploads: { total: 1, pending: 0, failed: 0 }, manifestDigest: tinyLm.currentDigest as Hex },
        model: tinyLm,
        reward: null,
      }),
    ).toEqual(['These files are exactly the current version.']);
    expect(problems({ fields: { kind: 'publish', uploads: { total: 1, pending: 0, failed: 0 }, manifestDigest: digest }, model: null, reward: null })).toEqual([
      'Choose a registered model (unknown model).',
    ]);
  });

  it('register with a taken or malformed slug, or a TokenHolders rule without a token', () => {
    expect(problems({ fields: { kind: 'register', slug: 'tiny-lm', rule: rule(0) }, model: null, reward: null })).toEqual(['“tiny-lm” is already registered.']);
    expect(problems({ fields: { kind: 'register', slug: 'Bad_Slug', rule: rule(1, 'nope', 'x') }, model: null, reward: null })).toEqual([
      'The slug must be lowercase letters, digits and dashes (1–64), starting with a letter or digit.',
      'The token for a TokenHolders rule must be a 0x address.',
      'The minimum balance must be a number.',
    ]);
  });

  it('access with a non-address or nothing to change; rollback of a revoked or current version; a zero reward', () => {
    expect(problems({ fields: { kind: 'access', rule: null, allowAdd: 'alice.eth', allowRemove: '' }, model: tinyLm, reward: null })).toEqual([
      'Not an address: alice.eth',
    ]);
    expect(problems({ fields: { kind: 'access', rule: null, allowAdd: '', allowRemove: ' ' }, model: tinyLm, reward: null })).toEqual([
      'Nothing to change: pick a rule or list addresses.',
    ]);
    expect(problems({ fields: { kind: 'rollback', version: '3' }, model: tinyLm, reward: null })).toEqual([
      'Version 3 is revoked; only an Active version can be made current.',
    ]);
    expect(problems({ fields: { kind: 'rollback', version: '2' }, model: tinyLm, reward: null })).toEqual(['Version 2 is already current.']);
    expect(problems({ fields: { kind: 'deprecate', version: '' }, model: tinyLm, reward: null })).toEqual(['Choose a version.']);
    expect(problems({ fields: { kind: 'deprecate', version: '1' }, model: tinyLm, reward: { to: alice, amount: '0' } })).toEqual([
      'The reward amount must be above zero.',
    ]);
  });
});
