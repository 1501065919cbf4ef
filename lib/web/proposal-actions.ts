import { isAddress, parseUnits, type Address, type Hex } from 'viem';
import { contractCall, type EncodedCall } from '../contracts/call';
import { modelRegistryAbi, modelTokenAbi } from '../contracts/generated';
import type { Manifest } from '@/lib/manifest';
import type { SafetensorsSummary } from '@/lib/artifacts/safetensors';
import { isSlug } from '@/lib/slug';

// The actions of a new proposal, from what the form holds — pure (no React, no wallet), so every
// kind is unit-tested against decodeActions, the text voters read (tests/web/proposal-actions.test.ts).

export type ProposalKind = 'publish' | 'register' | 'access' | 'rollback' | 'deprecate';

export const PROPOSAL_KINDS: { id: ProposalKind; label: string }[] = [
  { id: 'publish', label: 'Publish a new version' },
  { id: 'register', label: 'Register a model' },
  { id: 'access', label: 'Change access rule or allowlist' },
  { id: 'rollback', label: 'Set the current version (rollback)' },
  { id: 'deprecate', label: 'Deprecate a version' },
];

export interface ModelOption {
  modelId: string;
  slug: string;
  currentVersion: number;
  currentDigest: string | null;
  /** the version a new one descends from: the current one, else the newest not revoked, else the newest */
  parent: { version: number; digest: string; status: string } | null;
  accessKind: string;
  versions: { version: number; status: string }[];
  allowlist: string[];
  /** the parent's manifest: the base of the diff */
  current: { manifest: Manifest; safetensors: Record<string, SafetensorsSummary> } | null;
}

/** One action of a proposal (target, ETH value, calldata), typed by the generated ABIs. */
export type ProposalAction = EncodedCall;
export { contractCall };

const ZERO: Address = '0x0000000000000000000000000000000000000000';

export interface AccessRuleFields {
  kind: 0 | 1 | 2;
  /** TokenHolders: the token (0x address) */
  token: string;
  /** TokenHolders: the minimum balance in whole tokens (18 decimals) */
  minBalance: string;
}

export type KindFields =
  | {
      kind: 'publish';
      uploads: { total: number; pending: number; failed: number };
      manifestDigest: Hex | null;
    }
  | { kind: 'register'; slug: string; rule: AccessRuleFields }
  | { kind: 'access'; rule: AccessRuleFields | null; allowAdd: string; allowRemove: string }
  | { kind: 'rollback' | 'deprecate'; version: string };

export interface ProposalFields {
  fields: KindFields;
  /** the chosen model (every kind but register) */
  model: ModelOption | null;
  /** a treasury payment in the DAO's token, or null */
  reward: { to: string; amount: string } | null;
}

export interface BuiltProposal {
  actions: ProposalAction[];
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  problems: string[];
  summary: string;
}

export interface BuildContext {
  contracts: { registry: Address; token: Address };
  /** every registered model (register: the slug must be new) */
  models: Pick<ModelOption, 'slug'>[];
}

function accessRule(r: AccessRuleFields, problems: string[]) {
  if (r.kind === 1) {
    if (!isAddress(r.token)) problems.push('The token for a TokenHolders rule must be a 0x address.');
    let min = 0n;
    try {
      min = parseUnits(r.minBalance || '0', 18);
    } catch {
      problems.push('The minimum balance must be a number.');
    }
    return { kind: 1, token: (isAddress(r.token) ? r.token : ZERO) as Address, minBalance: min };
  }
  return { kind: r.kind, token: ZERO, minBalance: 0n };
}

const addresses = (s: string) => s.split(/[\s,]+/).filter(Boolean);

/** The proposal's actions and every problem that keeps it from being submitted, in words. */
export function buildActions(p: ProposalFields, ctx: BuildContext): BuiltProposal {
  const c = ctx.contracts;
  const actions: ProposalAction[] = [];
  const problems: string[] = [];
  let summary = '';
  const f = p.fields;
  const needModel = () => {
    if (!p.model) problems.push('Choose a registered model (unknown model).');
    return p.model;
  };
  switch (f.kind) {
    case 'publish': {
      const m = needModel();
      if (f.uploads.total === 0) problems.push('Add the files of the new version.');
      if (f.uploads.pending > 0) problems.push('Wait for every upload to finish.');
      if (f.uploads.failed > 0) problems.push('Remove or retry the files that failed to upload.');
      if (!f.manifestDigest) problems.push('Store the manifest first (button above the diff).');
      if (m && f.manifestDigest && m.currentDigest?.toLowerCase() === f.manifestDigest.toLowerCase())
        problems.push('These files are exactly the current version.');
      if (m && f.manifestDigest) {
        actions.push(contractCall(c.registry, modelRegistryAbi, 'publishVersion', [BigInt(m.modelId), f.manifestDigest, m.parent?.version ?? 0]));
        summary = `Publish version ${m.versions.length + 1} of ${m.slug}`;
      }
      break;
    }
    case 'register': {
      if (!isSlug(f.slug)) problems.push('The slug must be lowercase letters, digits and dashes (1–64), starting with a letter or digit.');
      if (ctx.models.some((m) => m.slug === f.slug)) problems.push(`“${f.slug}” is already registered.`);
      actions.push(contractCall(c.registry, modelRegistryAbi, 'registerModel', [f.slug, accessRule(f.rule, problems)]));
      summary = `Register ${f.slug}`;
      break;
    }
    case 'access': {
      const m = needModel();
      if (!m) break;
      const id = BigInt(m.modelId);
      if (f.rule) actions.push(contractCall(c.registry, modelRegistryAbi, 'setAccessRule', [id, accessRule(f.rule, problems)]));
      const add = addresses(f.allowAdd);
      const remove = addresses(f.allowRemove);
      for (const a of [...add, ...remove]) if (!isAddress(a)) problems.push(`Not an address: ${a}`);
      if (add.length && add.every((a) => isAddress(a))) actions.push(contractCall(c.registry, modelRegistryAbi, 'setAllowlist', [id, add as Address[], true]));
      if (remove.length && remove.every((a) => isAddress(a)))
        actions.push(contractCall(c.registry, modelRegistryAbi, 'setAllowlist', [id, remove as Address[], false]));
      if (!f.rule && add.length === 0 && remove.length === 0) problems.push('Nothing to change: pick a rule or list addresses.');
      summary = `Change access to ${m.slug}`;
      break;
    }
    case 'rollback':
    case 'deprecate': {
      const m = needModel();
      const v = Number(f.version);
      const ver = f.version ? m?.versions.find((x) => x.version === v) : undefined;
      if (!ver) problems.push('Choose a version.');
      else if (ver.status !== 'Active')
        problems.push(`Version ${v} is ${ver.status.toLowerCase()}; only an Active version can be ${f.kind === 'rollback' ? 'made current' : 'deprecated'}.`);
      else if (f.kind === 'rollback' && m!.currentVersion === v) problems.push(`Version ${v} is already current.`);
      if (m && ver) {
        actions.push(
          f.kind === 'rollback'
            ? contractCall(c.registry, modelRegistryAbi, 'setCurrentVersion', [BigInt(m.modelId), v])
            : contractCall(c.registry, modelRegistryAbi, 'deprecateVersion', [BigInt(m.modelId), v]),
        );
      }
      summary = m ? `${f.kind === 'rollback' ? 'Make current' : 'Deprecate'} v${v} of ${m.slug}` : '';
      break;
    }
  }
  if (p.reward) {
    const { to, amount: text } = p.reward;
    if (!isAddress(to)) problems.push('The reward recipient must be a 0x address.');
    let amount = 0n;
    try {
      amount = parseUnits(text || '0', 18);
    } catch {
      problems.push('The reward amount must be a number.');
    }
    if (amount <= 0n) problems.push('The reward amount must be above zero.');
    if (isAddress(to) && amount > 0n) actions.push(contractCall(c.token, modelTokenAbi, 'transfer', [to, amount]));
  }
  return {
    actions,
    targets: actions.map((a) => a.target),
    values: actions.map((a) => a.value),
    calldatas: actions.map((a) => a.calldata),
    problems,
    summary,
  };
}

/** The reward amount in token units (18 decimals); 0 when it is not a number. */
export function rewardAmount(text: string): bigint {
  try {
    return parseUnits(text || '0', 18);
  } catch {
    return 0n;
  }
}
