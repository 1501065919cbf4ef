'use client';

import { useMemo, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import { useConnection, usePublicClient, useSignTypedData } from 'wagmi';
import { encodeFunctionData, isAddress, keccak256, parseUnits, toBytes, type Abi, type Address, type Hex } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/app/providers';
import { useAccountPower } from '@/lib/web/hooks/use-account-power';
import { phaseText, useDaoTx } from '@/lib/web/hooks/use-dao-tx';
import { diffManifests } from '@/lib/web/manifest-diff';
import type { Manifest, SafetensorsSummary } from '@/lib/web/queries/manifests';
import { pathProblem } from '@/lib/manifest/paths';
import { formatBytes, formatParams, formatSignedParams, formatTokens } from '@/lib/web/format';
import { storeManifest, uploadWithProgress, type UploadedFile } from './uploads';
import { uploadAuthorization } from './upload-auth';

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

function parentLabel(m: ModelOption | null): string {
  if (!m?.parent) return 'none — this is the first version';
  if (m.parent.version === m.currentVersion) return `v${m.parent.version} (current)`;
  return `v${m.parent.version} (${m.parent.status.toLowerCase()}; the model has no current version)`;
}

type Kind = 'publish' | 'register' | 'access' | 'rollback' | 'deprecate';
const KINDS: { id: Kind; label: string }[] = [
  { id: 'publish', label: 'Publish a new version' },
  { id: 'register', label: 'Register a model' },
  { id: 'access', label: 'Change access rule or allowlist' },
  { id: 'rollback', label: 'Set the current version (rollback)' },
  { id: 'deprecate', label: 'Deprecate a version' },
];
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ZERO: Address = '0x0000000000000000000000000000000000000000';

interface FileState {
  key: string;
  file: File;
  loaded: number;
  status: 'queued' | 'uploading' | 'done' | 'error';
  result?: UploadedFile;
  error?: string;
}

export function NewProposalForm({ models, threshold, initialType, initialModel }: { models: ModelOption[]; threshold: string; initialType?: string; initialModel?: string }) {
  const app = useAppConfig();
  const router = useRouter();
  const { address, status, chainId } = useConnection();
  const client = usePublicClient({ chainId: app.chainId });
  const power = useAccountPower();
  const tx = useDaoTx();
  const signTypedData = useSignTypedData();

  const [kind, setKind] = useState<Kind>(KINDS.some((k) => k.id === initialType) ? (initialType as Kind) : 'publish');
  const [slug, setSlug] = useState(initialModel && models.some((m) => m.slug === initialModel) ? initialModel : models[0]?.slug ?? '');
  const model = models.find((m) => m.slug === slug) ?? null;
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  // publish
  const [files, setFiles] = useState<FileState[]>([]);
  const [over, setOver] = useState(false);
  const [license, setLicense] = useState('apache-2.0');
  const [versionNotes, setVersionNotes] = useState('');
  const [evals, setEvals] = useState('');
  const [manifestDigest, setManifestDigest] = useState<Hex | null>(null);
  const [manifestBusy, setManifestBusy] = useState(false);
  // register / access
  const [newSlug, setNewSlug] = useState('');
  const [ruleKind, setRuleKind] = useState<0 | 1 | 2>(0);
  const [ruleToken, setRuleToken] = useState<string>(app.contracts?.token ?? '');
  const [ruleMin, setRuleMin] = useState('1');
  const [allowAdd, setAllowAdd] = useState('');
  const [allowRemove, setAllowRemove] = useState('');
  const [changeRule, setChangeRule] = useState(true);
  // rollback / deprecate
  const [targetVersion, setTargetVersion] = useState('');
  // reward
  const [reward, setReward] = useState(false);
  const [rewardTo, setRewardTo] = useState('');
  const [rewardAmount, setRewardAmount] = useState('');

  const [problems, setProblems] = useState<string[]>([]);
  const [checking, setChecking] = useState(false);
  const authRef = useRef<Record<string, string> | null>(null);

  const uploaded = files.filter((f) => f.status === 'done' && f.result).map((f) => f.result!);
  const draftManifest: Manifest | null = useMemo(() => {
    if (kind !== 'publish' || !model || uploaded.length === 0) return null;
    let ev: unknown[] = [];
    try {
      ev = evals.trim() ? (JSON.parse(evals) as unknown[]) : [];
    } catch {
      ev = [];
    }
    return {
      schema: 'modeldao.manifest/v1',
      model: model.slug,
      parent: model.parent ? `sha256:${model.parent.digest.slice(2).toLowerCase()}` : null,
      files: uploaded.map((u) => ({ path: u.path, size: u.size, sha256: u.sha256, cid: u.cid })).sort((a, b) => a.path.localeCompare(b.path)),
      metadata: {
        license: license.trim() || undefined,
        description: versionNotes.trim() || undefined,
        evals: Array.isArray(ev) ? ev : [],
      },
    };
  }, [kind, model, uploaded, evals, license, versionNotes]);
  const diff = useMemo(() => {
    if (!draftManifest) return null;
    const st: Record<string, SafetensorsSummary> = {};
    for (const u of uploaded) if (u.safetensors) st[u.sha256] = u.safetensors;
    return diffManifests(model?.current ?? null, { manifest: draftManifest, safetensors: st });
  }, [draftManifest, uploaded, model]);

  /** The cached upload authorization; `renew` signs a new one (a long upload outlived the last). */
  async function authHeaders(renew = false): Promise<Record<string, string>> {
    if (renew) authRef.current = null;
    if (authRef.current) return authRef.current;
    if (!address) throw new Error('Connect a wallet to upload: uploads are signed by your account.');
    const h = await uploadAuthorization({ account: address, chainId: app.chainId, registry: app.contracts!.registry, sign: (td) => signTypedData.mutateAsync(td) });
    authRef.current = h;
    return h;
  }

  async function addFiles(list: FileList | File[]) {
    const incoming = [...list];
    setManifestDigest(null);
    // The manifest's path rules (lib/manifest/paths.ts), before any byte is uploaded.
    const states: FileState[] = incoming.map((file) => {
      const problem = pathProblem(file.name);
      return { key: `${file.name}:${file.size}:${Math.random()}`, file, loaded: 0, ...(problem ? { status: 'error' as const, error: `${file.name}: ${problem}` } : { status: 'queued' as const }) };
    });
    setFiles((prev) => [...prev.filter((p) => !incoming.some((f) => f.name === p.file.name)), ...states]);
    try {
      await authHeaders();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      setFiles((prev) => prev.map((p) => (states.some((s) => s.key === p.key) ? { ...p, status: 'error', error: message } : p)));
      return;
    }
    for (const s of states) {
      if (s.status === 'error') continue;
      setFiles((prev) => prev.map((p) => (p.key === s.key ? { ...p, status: 'uploading' } : p)));
      try {
        const result = await uploadWithProgress(s.file, authHeaders, (loaded) => setFiles((prev) => prev.map((p) => (p.key === s.key ? { ...p, loaded } : p))));
        setFiles((prev) => prev.map((p) => (p.key === s.key ? { ...p, status: 'done', loaded: s.file.size, result } : p)));
      } catch (err) {
        setFiles((prev) => prev.map((p) => (p.key === s.key ? { ...p, status: 'error', error: err instanceof Error ? err.message : String(err) } : p)));
      }
    }
  }

  function buildActions(): { targets: Address[]; values: bigint[]; calldatas: Hex[]; problems: string[]; summary: string } {
    const c = app.contracts!;
    const out = { targets: [] as Address[], values: [] as bigint[], calldatas: [] as Hex[], problems: [] as string[], summary: '' };
    const push = (target: Address, data: Hex) => {
      out.targets.push(target);
      out.values.push(0n);
      out.calldatas.push(data);
    };
    const rule = () => {
      if (ruleKind === 1) {
        if (!isAddress(ruleToken)) out.problems.push('The token for a TokenHolders rule must be a 0x address.');
        let min = 0n;
        try {
          min = parseUnits(ruleMin || '0', 18);
        } catch {
          out.problems.push('The minimum balance must be a number.');
        }
        return { kind: 1, token: (isAddress(ruleToken) ? ruleToken : ZERO) as Address, minBalance: min };
      }
      return { kind: ruleKind, token: ZERO, minBalance: 0n };
    };
    const needModel = () => {
      if (!model) out.problems.push('Choose a registered model (unknown model).');
      return model;
    };
    switch (kind) {
      case 'publish': {
        const m = needModel();
        if (files.length === 0) out.problems.push('Add the files of the new version.');
        if (files.some((f) => f.status === 'uploading' || f.status === 'queued')) out.problems.push('Wait for every upload to finish.');
        if (files.some((f) => f.status === 'error')) out.problems.push('Remove or retry the files that failed to upload.');
        if (!manifestDigest) out.problems.push('Store the manifest first (button above the diff).');
        if (m && manifestDigest && m.currentDigest?.toLowerCase() === manifestDigest) out.problems.push('These files are exactly the current version.');
        if (m && manifestDigest) {
          push(c.registry, encodeFunctionData({ abi: modelRegistryAbi, functionName: 'publishVersion', args: [BigInt(m.modelId), manifestDigest, m.parent?.version ?? 0] }));
          out.summary = `Publish version ${m.versions.length + 1} of ${m.slug}`;
        }
        break;
      }
      case 'register': {
        if (!SLUG.test(newSlug)) out.problems.push('The slug must be lowercase letters, digits and dashes (1–64), starting with a letter or digit.');
        if (models.some((m) => m.slug === newSlug)) out.problems.push(`“${newSlug}” is already registered.`);
        const r = rule();
        push(c.registry, encodeFunctionData({ abi: modelRegistryAbi, functionName: 'registerModel', args: [newSlug, r] }));
        out.summary = `Register ${newSlug}`;
        break;
      }
      case 'access': {
        const m = needModel();
        if (!m) break;
        if (changeRule) push(c.registry, encodeFunctionData({ abi: modelRegistryAbi, functionName: 'setAccessRule', args: [BigInt(m.modelId), rule()] }));
        const parse = (s: string) => s.split(/[\s,]+/).filter(Boolean);
        const add = parse(allowAdd);
        const remove = parse(allowRemove);
        for (const a of [...add, ...remove]) if (!isAddress(a)) out.problems.push(`Not an address: ${a}`);
        if (add.length && add.every((a) => isAddress(a)))
          push(c.registry, encodeFunctionData({ abi: modelRegistryAbi, functionName: 'setAllowlist', args: [BigInt(m.modelId), add as Address[], true] }));
        if (remove.length && remove.every((a) => isAddress(a)))
          push(c.registry, encodeFunctionData({ abi: modelRegistryAbi, functionName: 'setAllowlist', args: [BigInt(m.modelId), remove as Address[], false] }));
        if (!changeRule && add.length === 0 && remove.length === 0) out.problems.push('Nothing to change: pick a rule or list addresses.');
        out.summary = `Change access to ${m.slug}`;
        break;
      }
      case 'rollback':
      case 'deprecate': {
        const m = needModel();
        const v = Number(targetVersion);
        const ver = m?.versions.find((x) => x.version === v);
        if (!ver) out.problems.push('Choose a version.');
        else if (ver.status !== 'Active') out.problems.push(`Version ${v} is ${ver.status.toLowerCase()}; only an Active version can be ${kind === 'rollback' ? 'made current' : 'deprecated'}.`);
        else if (kind === 'rollback' && m!.currentVersion === v) out.problems.push(`Version ${v} is already current.`);
        if (m && ver)
          push(
            c.registry,
            encodeFunctionData({ abi: modelRegistryAbi, functionName: kind === 'rollback' ? 'setCurrentVersion' : 'deprecateVersion', args: [BigInt(m.modelId), v] }),
          );
        out.summary = m ? `${kind === 'rollback' ? 'Make current' : 'Deprecate'} v${v} of ${m.slug}` : '';
        break;
      }
    }
    if (reward) {
      if (!isAddress(rewardTo)) out.problems.push('The reward recipient must be a 0x address.');
      let amount = 0n;
      try {
        amount = parseUnits(rewardAmount || '0', 18);
      } catch {
        out.problems.push('The reward amount must be a number.');
      }
      if (amount <= 0n) out.problems.push('The reward amount must be above zero.');
      if (isAddress(rewardTo) && amount > 0n) push(c.token, encodeFunctionData({ abi: modelTokenAbi, functionName: 'transfer', args: [rewardTo, amount] }));
    }
    return out;
  }

  async function storeDraftManifest() {
    if (!draftManifest) return;
    setManifestBusy(true);
    setProblems([]);
    try {
      if (evals.trim()) {
        try {
          if (!Array.isArray(JSON.parse(evals))) throw new Error();
        } catch {
          throw new Error('Eval results must be a JSON array, e.g. [{"name":"hellaswag","acc":0.41}].');
        }
      }
      setManifestDigest(await storeManifest(draftManifest, await authHeaders()));
    } catch (err) {
      setProblems([err instanceof Error ? err.message : String(err)]);
    } finally {
      setManifestBusy(false);
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
      const built = app.contracts ? buildActions() : null;
      if (built) found.push(...built.problems);
      if (built && built.targets.length === 0 && found.length === 0) found.push('The proposal has no action.');
      if (found.length === 0 && built && address && client) {
        // Threshold: the proposer's votes at the previous second (what Governor.propose checks).
        const clock = Number(await client.readContract({ address: app.contracts!.governor, abi: modelGovernorAbi, functionName: 'clock' }));
        const votes = await client.readContract({ address: app.contracts!.governor, abi: modelGovernorAbi, functionName: 'getVotes', args: [address, BigInt(clock - 1)] });
        if (votes < BigInt(threshold)) {
          found.push(
            `Your voting power (${formatTokens(votes)}) is below the proposal threshold (${formatTokens(threshold)}).${power.needsDelegation ? ' You have tokens but no voting power — delegate first (to yourself) on the Delegates page.' : ''}`,
          );
        }
        if (reward) {
          const treasury = await client.readContract({ address: app.contracts!.token, abi: modelTokenAbi, functionName: 'balanceOf', args: [app.contracts!.timelock] });
          let amt = 0n;
          try {
            amt = parseUnits(rewardAmount || '0', 18);
          } catch {}
          if (amt > treasury) found.push(`The treasury holds only ${formatTokens(treasury)} ${app.tokenSymbol}.`);
        }
        const description = `# ${title.trim()}\n\n${body.trim()}\n\n#proposer=${address}`;
        const id = await client.readContract({
          address: app.contracts!.governor,
          abi: modelGovernorAbi,
          functionName: 'hashProposal',
          args: [built.targets, built.values, built.calldatas, keccak256(toBytes(description))],
        });
        const snapshot = await client.readContract({ address: app.contracts!.governor, abi: modelGovernorAbi, functionName: 'proposalSnapshot', args: [id] });
        if (snapshot !== 0n) found.push('An identical proposal already exists (same actions and description).');
        if (found.length === 0) {
          setProblems([]);
          const ok = await tx.run({
            address: app.contracts!.governor,
            abi: modelGovernorAbi as Abi,
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

  const activeVersions = model?.versions.filter((v) => v.status === 'Active') ?? [];

  return (
    <form onSubmit={submit} noValidate aria-describedby="form-problems">
      {power.needsDelegation && (
        <p className="notice-warn" data-testid="delegate-first">
          You have tokens but no voting power — <a href="/delegates">delegate first</a>. Proposing needs voting power above the
          threshold.
        </p>
      )}
      <fieldset>
        <legend>What should the DAO do?</legend>
        {KINDS.map((k) => (
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
            <select value={slug} onChange={(e) => { setSlug(e.target.value); setManifestDigest(null); }} name="model">
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
        <fieldset>
          <legend>New version of {model?.slug ?? '…'}</legend>
          <p className="small muted">
            Parent: {parentLabel(model)}. Files are
            uploaded to this server, hashed (sha256 + IPFS CID) and kept unpinned until a version that lists them is published.
          </p>
          <div
            className={`dropzone ${over ? 'over' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={(e) => {
              e.preventDefault();
              setOver(false);
              if (e.dataTransfer.files.length) void addFiles(e.dataTransfer.files);
            }}
            data-testid="dropzone"
          >
            <p style={{ marginTop: 0 }}>Drop weights, config and tokenizer files here, or</p>
            <label className="btn">
              Choose files
              <input
                type="file"
                multiple
                className="sr-only"
                aria-label="Choose files to upload"
                data-testid="file-input"
                onChange={(e) => {
                  if (e.target.files?.length) void addFiles(e.target.files);
                  e.target.value = '';
                }}
              />
            </label>
          </div>
          {files.length > 0 && (
            <div className="table-wrap">
              <table data-testid="upload-list">
                <thead>
                  <tr>
                    <th>File</th>
                    <th>Progress</th>
                    <th>sha256 / CID</th>
                    <th>
                      <span className="sr-only">Remove</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {files.map((f) => (
                    <tr key={f.key} data-testid="upload-row">
                      <td className="mono">
                        {f.file.name}
                        <div className="small muted">{formatBytes(f.file.size)}</div>
                      </td>
                      <td>
                        {f.status === 'error' ? (
                          <span className="error" role="alert">
                            {f.error}
                          </span>
                        ) : (
                          <>
                            <progress max={f.file.size || 1} value={f.loaded} aria-label={`Upload of ${f.file.name}`} />{' '}
                            <span className="small">{f.status === 'done' ? 'done' : `${Math.floor((f.loaded / (f.file.size || 1)) * 100)}%`}</span>
                          </>
                        )}
                      </td>
                      <td className="small mono">
                        {f.result ? (
                          <>
                            <div data-testid="upload-sha256">{f.result.sha256}</div>
                            <div className="muted">{f.result.cid}</div>
                            {f.result.safetensors && (
                              <div>
                                {f.result.safetensors.tensors.length} tensors · {formatParams(f.result.safetensors.params)} params
                              </div>
                            )}
                          </>
                        ) : (
                          '…'
                        )}
                      </td>
                      <td>
                        <button
                          type="button"
                          className="btn btn-small"
                          aria-label={`Remove ${f.file.name}`}
                          onClick={() => {
                            setFiles((prev) => prev.filter((p) => p.key !== f.key));
                            setManifestDigest(null);
                          }}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <label className="field">
            <span>License</span>
            <input value={license} onChange={(e) => { setLicense(e.target.value); setManifestDigest(null); }} name="license" />
          </label>
          <label className="field">
            <span>
              Version notes <span className="hint">(Markdown, stored in the manifest)</span>
            </span>
            <textarea value={versionNotes} onChange={(e) => { setVersionNotes(e.target.value); setManifestDigest(null); }} name="version-notes" />
          </label>
          <label className="field">
            <span>
              Eval results <span className="hint">(JSON array, e.g. {'[{"name":"hellaswag","acc":0.41}]'})</span>
            </span>
            <textarea value={evals} onChange={(e) => { setEvals(e.target.value); setManifestDigest(null); }} name="evals" className="mono" />
          </label>

          {diff && (
            <section aria-labelledby="draft-diff-h" className="card" data-testid="draft-diff">
              <h3 id="draft-diff-h" style={{ marginTop: 0 }}>
                What changes against {model?.parent ? `v${model.parent.version}` : 'nothing (first version)'}
              </h3>
              <p>
                {formatBytes(diff.bytesBefore)} → {formatBytes(diff.bytesAfter)}
                {diff.paramDelta !== null && ` · parameters ${diff.paramsBefore?.toLocaleString('en-US')} → ${diff.paramsAfter?.toLocaleString('en-US')} (${formatSignedParams(diff.paramDelta)})`}
              </p>
              <ul>
                {diff.files
                  .filter((f) => f.kind !== 'unchanged')
                  .map((f) => (
                    <li key={f.path} className={`diff-${f.kind}`}>
                      {f.kind} <span className="mono">{f.path}</span>
                    </li>
                  ))}
                {diff.tensors.map((t) => (
                  <li key={t.name} className={t.kind === 'added' ? 'diff-added' : t.kind === 'removed' ? 'diff-removed' : 'diff-changed'}>
                    tensor <span className="mono">{t.name}</span> {t.kind}
                    {t.before && t.after ? `: ${t.before.dtype} [${t.before.shape.join(', ')}] → ${t.after.dtype} [${t.after.shape.join(', ')}]` : t.after ? `: ${t.after.dtype} [${t.after.shape.join(', ')}]` : ''}
                  </li>
                ))}
              </ul>
              <div className="btn-row">
                <button type="button" className="btn" onClick={storeDraftManifest} disabled={manifestBusy || files.some((f) => f.status !== 'done')}>
                  {manifestDigest ? 'Manifest stored' : manifestBusy ? 'Storing…' : 'Store the manifest'}
                </button>
                {manifestDigest && (
                  <span className="small">
                    digest <code data-testid="manifest-digest">{manifestDigest}</code>
                  </span>
                )}
              </div>
            </section>
          )}
        </fieldset>
      )}

      {kind === 'register' && (
        <label className="field">
          <span>
            Slug <span className="hint">(lowercase letters, digits, dashes)</span>
          </span>
          <input value={newSlug} onChange={(e) => setNewSlug(e.target.value.trim())} name="slug" pattern="[a-z0-9][a-z0-9-]{0,63}" />
        </label>
      )}

      {(kind === 'register' || kind === 'access') && (
        <fieldset>
          <legend>Who may fetch it</legend>
          {kind === 'access' && (
            <label style={{ display: 'block' }}>
              <input type="checkbox" checked={changeRule} onChange={(e) => setChangeRule(e.target.checked)} /> Change the access rule
              (now: {model?.accessKind})
            </label>
          )}
          {(kind === 'register' || changeRule) && (
            <>
              {(['Public', 'TokenHolders', 'Allowlist'] as const).map((k, i) => (
                <label key={k} style={{ display: 'block' }}>
                  <input type="radio" name="rule" checked={ruleKind === i} onChange={() => setRuleKind(i as 0 | 1 | 2)} />{' '}
                  {k === 'Public' ? 'Public — anyone' : k === 'TokenHolders' ? 'Token holders with a minimum balance' : 'Allowlisted accounts only'}
                </label>
              ))}
              {ruleKind === 1 && (
                <div className="btn-row">
                  <label className="field">
                    <span>Token (ERC-20 or ERC-721)</span>
                    <input value={ruleToken} onChange={(e) => setRuleToken(e.target.value.trim())} className="mono" />
                  </label>
                  <label className="field">
                    <span>Minimum balance</span>
                    <input value={ruleMin} onChange={(e) => setRuleMin(e.target.value)} inputMode="decimal" />
                  </label>
                </div>
              )}
            </>
          )}
          {kind === 'access' && (
            <>
              <label className="field">
                <span>
                  Add to the allowlist <span className="hint">(addresses, comma or space separated)</span>
                </span>
                <textarea value={allowAdd} onChange={(e) => setAllowAdd(e.target.value)} className="mono" />
              </label>
              <label className="field">
                <span>Remove from the allowlist</span>
                <textarea value={allowRemove} onChange={(e) => setAllowRemove(e.target.value)} className="mono" />
              </label>
              {model && model.allowlist.length > 0 && <p className="small muted">Allowlisted now: {model.allowlist.join(', ')}</p>}
            </>
          )}
        </fieldset>
      )}

      {(kind === 'rollback' || kind === 'deprecate') && (
        <label className="field">
          <span>Version</span>
          <select value={targetVersion} onChange={(e) => setTargetVersion(e.target.value)} name="version">
            <option value="">Choose…</option>
            {activeVersions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
                {v.version === model?.currentVersion ? ' (current)' : ''}
              </option>
            ))}
          </select>
        </label>
      )}

      <fieldset>
        <legend>Treasury reward (optional)</legend>
        <label style={{ display: 'block' }}>
          <input type="checkbox" checked={reward} onChange={(e) => setReward(e.target.checked)} /> Also pay {app.tokenSymbol} from the
          treasury (for example to the maintainer)
        </label>
        {reward && (
          <div className="btn-row">
            <label className="field">
              <span>Recipient</span>
              <input value={rewardTo} onChange={(e) => setRewardTo(e.target.value.trim())} placeholder={address ?? '0x…'} className="mono" />
            </label>
            <label className="field">
              <span>Amount ({app.tokenSymbol})</span>
              <input value={rewardAmount} onChange={(e) => setRewardAmount(e.target.value)} inputMode="decimal" />
            </label>
          </div>
        )}
      </fieldset>

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
        The description will end with <code>#proposer={address ?? '<your address>'}</code> so nobody else can submit the same
        proposal id first.
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
