import { decodeFunctionData, type Abi, type Hex } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi, timelockControllerAbi } from '../contracts/generated';
import { formatBytes, formatParams, formatUnitsExact, shortAddress } from './format';
import { ACCESS_KINDS } from '../chain/registry-enums';

// Proposal actions in plain language, decoded with the generated ABIs of the contracts the DAO
// controls. Anything else is shown decoded as far as possible, with a warning.

export interface ContractsInfo {
  token: string;
  governor: string;
  timelock: string;
  registry: string;
}

export interface ManifestBrief {
  files: number;
  totalBytes: number;
  params: number | null;
  dtypes: string[];
}

export interface DecodedAction {
  index: number;
  target: string;
  value: string;
  calldata: string;
  /** e.g. "Publish version 3 of tiny-lm: 3 files, 4.2 GB, 1.1 B params BF16 — parent v2" */
  summary: string;
  contract: 'registry' | 'token' | 'governor' | 'timelock' | 'unknown';
  functionName: string | null;
  args: readonly unknown[] | null;
  warning: string | null;
  modelId: string | null;
  publish: { modelId: string; manifestDigest: Hex; parentVersion: number } | null;
}

export interface DecodeContext {
  contracts: ContractsInfo | null;
  slugs: Record<string, string>;
  /** model id → version count at the time of reading, to name the version a publish will create. */
  versionCounts?: Record<string, number>;
  manifests?: Record<string, ManifestBrief | undefined>;
  tokenSymbol: string;
}

function modelName(ctx: DecodeContext, id: bigint | string): string {
  return ctx.slugs[String(id)] ?? `model #${id}`;
}

function tryDecode(abi: Abi, data: Hex) {
  try {
    return decodeFunctionData({ abi, data });
  } catch {
    return null;
  }
}

export function decodeActions(targets: string[], values: string[], calldatas: string[], ctx: DecodeContext): DecodedAction[] {
  const pendingPublishes: Record<string, number> = {};
  return targets.map((target, index) => {
    const value = values[index] ?? '0';
    const calldata = (calldatas[index] ?? '0x') as Hex;
    const base: DecodedAction = {
      index,
      target,
      value,
      calldata,
      summary: '',
      contract: 'unknown',
      functionName: null,
      args: null,
      warning: null,
      modelId: null,
      publish: null,
    };
    const c = ctx.contracts;
    const is = (a: string | undefined) => Boolean(a) && a!.toLowerCase() === target.toLowerCase();
    const eth = BigInt(value) > 0n ? ` and send ${fmt(BigInt(value))} ETH` : '';

    if (c && is(c.registry)) {
      const d = tryDecode(modelRegistryAbi as Abi, calldata);
      if (d) {
        const a = d.args as readonly any[];
        base.contract = 'registry';
        base.functionName = d.functionName;
        base.args = a;
        switch (d.functionName) {
          case 'registerModel': {
            const rule = a[1] as { kind: number; token: string; minBalance: bigint };
            base.summary = `Register a new model “${a[0]}” with access: ${describeRule(rule, ctx)}`;
            break;
          }
          case 'publishVersion': {
            const id = String(a[0]);
            base.modelId = id;
            base.publish = { modelId: id, manifestDigest: a[1] as Hex, parentVersion: Number(a[2]) };
            pendingPublishes[id] = (pendingPublishes[id] ?? 0) + 1;
            const next = ctx.versionCounts?.[id] !== undefined ? ctx.versionCounts[id]! + pendingPublishes[id]! : null;
            // Without a manifest lookup (lists) the line stays short; with one, a missing manifest is a warning.
            const m = ctx.manifests?.[String(a[1]).toLowerCase()];
            const what = m
              ? `: ${m.files} file${m.files === 1 ? '' : 's'}, ${formatBytes(m.totalBytes)}${m.params !== null ? `, ${formatParams(m.params)} params` : ''}${m.dtypes.length ? ' ' + m.dtypes.join('/') : ''}`
              : ctx.manifests
                ? ' (manifest not found on this server — check the digest yourself)'
                : '';
            base.summary = `Publish ${next ? `version ${next}` : 'a new version'} of ${modelName(ctx, id)}${what} — ${Number(a[2]) === 0 ? 'first version' : `parent v${a[2]}`}; it becomes the current version`;
            if (!m && ctx.manifests) base.warning = 'The manifest for this digest is not stored here, so its files cannot be shown.';
            break;
          }
          case 'setCurrentVersion':
            base.modelId = String(a[0]);
            base.summary =
              Number(a[1]) === 0
                ? `Leave ${modelName(ctx, a[0])} without a current version`
                : `Make version ${a[1]} the current version of ${modelName(ctx, a[0])}`;
            break;
          case 'deprecateVersion':
            base.modelId = String(a[0]);
            base.summary = `Deprecate version ${a[1]} of ${modelName(ctx, a[0])}`;
            break;
          case 'revokeVersion':
            base.modelId = String(a[0]);
            base.summary = `Revoke version ${a[1]} of ${modelName(ctx, a[0])} for good (its files stop being served)`;
            break;
          case 'setAccessRule':
            base.modelId = String(a[0]);
            base.summary = `Change who may fetch ${modelName(ctx, a[0])}: ${describeRule(a[1], ctx)}`;
            break;
          case 'setAllowlist': {
            base.modelId = String(a[0]);
            const accounts = a[1] as string[];
            base.summary = `${a[2] ? 'Allow' : 'Remove from the allowlist of'} ${modelName(ctx, a[0])}: ${accounts.map(shortAddress).join(', ')}${a[2] ? ' to fetch it' : ''}`;
            break;
          }
          case 'setGuardian':
            base.summary = `Replace the registry guardian with ${a[0]}`;
            break;
          default:
            base.summary = `Call registry.${d.functionName}`;
        }
        base.summary += eth;
        return base;
      }
    }
    if (c && is(c.token)) {
      const d = tryDecode(modelTokenAbi as Abi, calldata);
      if (d) {
        const a = d.args as readonly any[];
        base.contract = 'token';
        base.functionName = d.functionName;
        base.args = a;
        if (d.functionName === 'transfer') base.summary = `Send ${fmt(a[1])} ${ctx.tokenSymbol} from the treasury to ${a[0]}`;
        else if (d.functionName === 'approve') base.summary = `Allow ${a[0]} to spend ${fmt(a[1])} ${ctx.tokenSymbol} of the treasury`;
        else if (d.functionName === 'delegate') base.summary = `Delegate the treasury's votes to ${a[0]}`;
        else base.summary = `Call token.${d.functionName}`;
        base.summary += eth;
        return base;
      }
    }
    if (c && is(c.governor)) {
      const d = tryDecode(modelGovernorAbi as Abi, calldata);
      if (d) {
        const a = d.args as readonly any[];
        base.contract = 'governor';
        base.functionName = d.functionName;
        base.args = a;
        const words: Record<string, string> = {
          setVotingDelay: `Set the voting delay to ${a[0]} s`,
          setVotingPeriod: `Set the voting period to ${a[0]} s`,
          setProposalThreshold: `Set the proposal threshold to ${fmt(a[0])} votes`,
          updateQuorumNumerator: `Set the quorum to ${a[0]}% of the supply`,
          setLateQuorumVoteExtension: `Set the late-quorum extension to ${a[0]} s`,
          setProposalGuardian: `Make ${a[0]} the proposal guardian`,
          updateTimelock: `Move the governor to timelock ${a[0]}`,
        };
        base.summary = (words[d.functionName] ?? `Call governor.${d.functionName}`) + eth;
        return base;
      }
    }
    if (c && is(c.timelock)) {
      const d = tryDecode(timelockControllerAbi as Abi, calldata);
      if (d) {
        const a = d.args as readonly any[];
        base.contract = 'timelock';
        base.functionName = d.functionName;
        base.args = a;
        base.summary = d.functionName === 'updateDelay' ? `Set the timelock delay to ${a[0]} s` : `Call timelock.${d.functionName}${eth}`;
        if (/Role/.test(d.functionName)) base.warning = 'Changes who controls the timelock (and so everything the DAO owns).';
        return base;
      }
    }
    if (calldata === '0x' || calldata.length <= 2) {
      base.summary = `Send ${fmt(BigInt(value))} ETH from the treasury to ${target}`;
      return base;
    }
    // Not a DAO contract: try every known ABI, then fall back to raw calldata.
    for (const abi of [modelTokenAbi, modelRegistryAbi, modelGovernorAbi, timelockControllerAbi] as Abi[]) {
      const d = tryDecode(abi, calldata);
      if (d) {
        base.functionName = d.functionName;
        base.args = d.args ?? null;
        base.summary = `Call ${d.functionName}(${(d.args ?? []).map((x) => String(x)).join(', ')}) on ${target}${eth}`;
        base.warning = 'Unknown contract: decoded by a matching function signature only. Check the target yourself.';
        return base;
      }
    }
    base.summary = `Call ${target} with raw calldata ${calldata.slice(0, 10)}…${eth}`;
    base.warning = 'Unknown call: this cannot be decoded. Read the raw calldata before voting for it.';
    return base;
  });
}

/** Exact: a summary is what voters approve, so 1 wei is "0.000000000000000001", never "0". */
function fmt(v: bigint): string {
  return formatUnitsExact(v, 18);
}

export function describeRule(rule: { kind: number; token: string; minBalance: bigint }, ctx: DecodeContext): string {
  const kind = ACCESS_KINDS[Number(rule.kind)] ?? `kind ${rule.kind}`;
  if (kind === 'Public') return 'anyone (public)';
  if (kind === 'Allowlist') return 'only allowlisted accounts';
  const isOurs = ctx.contracts && rule.token.toLowerCase() === ctx.contracts.token.toLowerCase();
  return `holders of at least ${fmt(rule.minBalance)} ${isOurs ? ctx.tokenSymbol : `of token ${rule.token}`}`;
}

/** The first line of a proposal's description, without Markdown heading marks or the #proposer suffix. */
export function proposalTitle(description: string): string {
  const body = stripProposerSuffix(description).trim();
  const first = body.split('\n').find((l) => l.trim()) ?? '';
  return (
    first
      .replace(/^#+\s*/, '')
      .trim()
      .slice(0, 160) || '(untitled proposal)'
  );
}

export function stripProposerSuffix(description: string): string {
  return description.replace(/\s*#proposer=0x[0-9a-fA-F]{40}\s*$/, '');
}

/** The description without its first line when that line is the title (shown as the page heading already). */
export function descriptionBody(description: string): string {
  const body = stripProposerSuffix(description).trim();
  const lines = body.split('\n');
  const i = lines.findIndex((l) => l.trim());
  if (i >= 0 && /^#\s/.test(lines[i]!.trim()))
    return lines
      .slice(i + 1)
      .join('\n')
      .trim();
  return body;
}
