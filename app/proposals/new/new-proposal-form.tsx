'use client';

import { useState } from 'react';
import { useRouter } from 'next/navigation';
import Link from 'next/link';
import { useConnection, usePublicClient } from 'wagmi';
import { keccak256, toBytes } from 'viem';
import { modelGovernorAbi, modelTokenAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/lib/web/app-config-context';
import type { ManifestFields } from '@/lib/web/draft-manifest';
import { formatTokens } from '@/lib/web/format';
import { useAccountPower } from '@/lib/web/hooks/use-account-power';
import { phaseText, useDaoTx } from '@/lib/web/hooks/use-dao-tx';
import { useUploads } from '@/lib/web/hooks/use-uploads';
import { buildActions, PROPOSAL_KINDS, rewardAmount, type KindFields, type ModelOption, type ProposalKind } from '@/lib/web/proposal-actions';
import { AccessFields, type AccessState } from './access-fields';
import { PublishFields } from './publish-fields';
import { RegisterFields, type RegisterState } from './register-fields';
import { RewardFields, type RewardState } from './reward-fields';
import { VersionFields } from './version-fields';

export type { ModelOption };

// The form: the kind of proposal, its own fields (one component per kind, building blocks in this
// folder), an optional treasury reward, title and description. The actions are built by the pure
// lib/web/proposal-actions.ts; the files and manifest of a publish go through lib/web/hooks/use-uploads.ts.

export function NewProposalForm({
  models,
  threshold,
  initialType,
  initialModel,
}: {
  models: ModelOption[];
  threshold: string;
  initialType?: string;
  initialModel?: string;
}) {
  const app = useAppConfig();
  const router = useRouter();
  const { address, status, chainId } = useConnection();
  const client = usePublicClient({ chainId: app.chainId });
  const power = useAccountPower();
  const tx = useDaoTx();
  const uploads = useUploads();

  const [kind, setKind] = useState<ProposalKind>(PROPOSAL_KINDS.find((k) => k.id === initialType)?.id ?? 'publish');
  const [slug, setSlug] = useState(initialModel && models.some((m) => m.slug === initialModel) ? initialModel : (models[0]?.slug ?? ''));
  const model = models.find((m) => m.slug === slug) ?? null;
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const defaultRule = { kind: 0 as const, token: app.contracts?.token ?? '', minBalance: '1' };
  const [manifestFields, setManifestFields] = useState<ManifestFields>({ license: 'apache-2.0', notes: '', evals: '' });
  const [register, setRegister] = useState<RegisterState>({ slug: '', rule: defaultRule });
  const [access, setAccess] = useState<AccessState>({ changeRule: true, rule: defaultRule, allowAdd: '', allowRemove: '' });
  const [targetVersion, setTargetVersion] = useState('');
  const [reward, setReward] = useState<RewardState>({ enabled: false, to: '', amount: '' });
  const [problems, setProblems] = useState<string[]>([]);
  const [checking, setChecking] = useState(false);

  function kindFields(): KindFields {
    switch (kind) {
      case 'publish':
        return { kind, uploads: uploads.counts, manifestDigest: uploads.manifestDigest };
      case 'register':
        return { kind, slug: register.slug, rule: register.rule };
      case 'access':
        return { kind, rule: access.changeRule ? access.rule : null, allowAdd: access.allowAdd, allowRemove: access.allowRemove };
      case 'rollback':
      case 'deprecate':
        return { kind, version: targetVersion };
    }
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setChecking(true);
    try {
      const found: string[] = [];
      if (!app.contracts) found.push('No contracts deployed on this chain.');
      if (status !== 'connected' || !address) found.push('Connect a wallet first.');
      else if (chainId !== app.chainId) found.push(`Switch your wallet to ${app.chainName} (chain id ${app.chainId}).`);
      if (!title.trim()) found.push('Give the proposal a title.');
      const built = app.contracts
        ? buildActions(
            { fields: kindFields(), model: kind === 'register' ? null : model, reward: reward.enabled ? { to: reward.to, amount: reward.amount } : null },
            { contracts: app.contracts, models },
          )
        : null;
      if (built) found.push(...built.problems);
      if (built && built.targets.length === 0 && found.length === 0) found.push('The proposal has no action.');
      if (found.length === 0 && built && address && client) {
        const governor = app.contracts!.governor;
        // Threshold: the proposer's votes at the previous second (what Governor.propose checks).
        const clock = Number(await client.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'clock' }));
        const votes = await client.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'getVotes', args: [address, BigInt(clock - 1)] });
        if (votes < BigInt(threshold)) {
          found.push(
            `Your voting power (${formatTokens(votes)}) is below the proposal threshold (${formatTokens(threshold)}).${power.needsDelegation ? ' You have tokens but no voting power — delegate first (to yourself) on the Delegates page.' : ''}`,
          );
        }
        if (reward.enabled) {
          const treasury = await client.readContract({
            address: app.contracts!.token,
            abi: modelTokenAbi,
            functionName: 'balanceOf',
            args: [app.contracts!.timelock],
          });
          if (rewardAmount(reward.amount) > treasury) found.push(`The treasury holds only ${formatTokens(treasury)} ${app.tokenSymbol}.`);
        }
        const description = `# ${title.trim()}\n\n${body.trim()}\n\n#proposer=${address}`;
        const id = await client.readContract({
          address: governor,
          abi: modelGovernorAbi,
          functionName: 'hashProposal',
          args: [built.targets, built.values, built.calldatas, keccak256(toBytes(description))],
        });
        const snapshot = await client.readContract({ address: governor, abi: modelGovernorAbi, functionName: 'proposalSnapshot', args: [id] });
        if (snapshot !== 0n) found.push('An identical proposal already exists (same actions and description).');
        if (found.length === 0) {
          setProblems([]);
          const ok = await tx.run({
            address: governor,
            abi: modelGovernorAbi,
            functionName: 'propose',
            args: [built.targets, built.values, built.calldatas, description],
          });
          if (ok) router.push(`/proposals/${id}`);
          return;
        }
      }
      setProblems(found);
    } catch (err) {
      setProblems([err instanceof Error ? err.message.split('\n')[0]! : String(err)]);
    } finally {
      setChecking(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-describedby="form-problems">
      {power.needsDelegation && (
        <p className="notice-warn" data-testid="delegate-first">
          You have tokens but no voting power — <Link href="/delegates">delegate first</Link>. Proposing needs voting power above the threshold.
        </p>
      )}
      <fieldset>
        <legend>What should the DAO do?</legend>
        {PROPOSAL_KINDS.map((k) => (
          <label key={k.id} style={{ display: 'block' }}>
            <input type="radio" name="kind" value={k.id} checked={kind === k.id} onChange={() => setKind(k.id)} /> {k.label}
          </label>
        ))}
      </fieldset>

      {kind !== 'register' && (
        <label className="field">
          <span>Model</span>
          {models.length === 0 ? (
            <span className="muted">No model registered yet — register one first.</span>
          ) : (
            <select
              value={slug}
              onChange={(e) => {
                setSlug(e.target.value);
                uploads.invalidateManifest();
              }}
              name="model"
            >
              {models.map((m) => (
                <option key={m.slug} value={m.slug}>
                  {m.slug} (current v{m.currentVersion || '—'})
                </option>
              ))}
            </select>
          )}
        </label>
      )}

      {kind === 'publish' && (
        <PublishFields model={model} uploads={uploads} value={manifestFields} onChange={setManifestFields} onError={(m) => setProblems(m ? [m] : [])} />
      )}
      {kind === 'register' && <RegisterFields value={register} onChange={setRegister} />}
      {kind === 'access' && <AccessFields model={model} value={access} onChange={setAccess} />}
      {(kind === 'rollback' || kind === 'deprecate') && <VersionFields model={model} value={targetVersion} onChange={setTargetVersion} />}

      <RewardFields value={reward} onChange={setReward} tokenSymbol={app.tokenSymbol} placeholder={address ?? '0x…'} />

      <label className="field">
        <span>Title</span>
        <input value={title} onChange={(e) => setTitle(e.target.value)} name="title" maxLength={160} required />
      </label>
      <label className="field">
        <span>
          Why <span className="hint">(Markdown; voters read this first)</span>
        </span>
        <textarea value={body} onChange={(e) => setBody(e.target.value)} name="body" />
      </label>
      <p className="small muted">
        The description will end with <code>#proposer={address ?? '<your address>'}</code> so nobody else can submit the same proposal id first.
      </p>

      <div id="form-problems" aria-live="polite">
        {problems.length > 0 && (
          <ul className="notice-err" data-testid="form-problems">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
      </div>
      <button type="submit" className="btn btn-primary" disabled={checking || tx.busy}>
        {checking && !tx.busy ? 'Checking…' : 'Submit proposal'}
      </button>
      {tx.phase !== 'idle' && tx.phase !== 'error' && <p role="status">{phaseText(tx.phase)}</p>}
      {tx.error && (
        <p role="alert" className="error">
          {tx.error}
        </p>
      )}
    </form>
  );
}
