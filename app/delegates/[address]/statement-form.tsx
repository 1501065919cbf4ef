'use client';

import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { useConnection, useSignTypedData } from 'wagmi';
import type { Address } from 'viem';
import { useAppConfig } from '@/lib/web/app-config-context';
import { describeWalletError } from '@/lib/web/wallet-errors';
import { walletNotReady } from '@/lib/web/hooks/use-dao-tx';
import { STATEMENT_LIMITS, type DelegateStatementJson, newStatement, parseStatement, statementToJson, statementTypedData } from '@/lib/delegates/statement';

/** Shown on a delegate's own page when that delegate is connected: write, sign (EIP-712) and publish the statement. */
export function StatementForm({ address, current }: { address: string; current: DelegateStatementJson | null }) {
  const app = useAppConfig();
  const { address: me, status, chainId } = useConnection();
  const { mutateAsync: signTypedDataAsync } = useSignTypedData();
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(current?.name ?? '');
  const [text, setText] = useState(current?.statement ?? '');
  const [links, setLinks] = useState(current?.links.join('\n') ?? '');
  const [models, setModels] = useState(current?.models.join(', ') ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  if (status !== 'connected' || !me || me.toLowerCase() !== address.toLowerCase() || !app.contracts) return null;
  if (!open)
    return (
      <button type="button" className="btn" onClick={() => setOpen(true)}>
        {current === null ? 'Write your statement' : 'Edit your statement'}
      </button>
    );

  const submit = async () => {
    setError(null);
    setDone(false);
    const notReady = walletNotReady(me, chainId, app);
    if (notReady) return setError(notReady);
    const split = (s: string) =>
      s
        .split(/[\n,]/)
        .map((x) => x.trim())
        .filter(Boolean);
    let statement;
    try {
      statement = parseStatement(
        statementToJson(newStatement({ delegate: me as Address, name: name.trim(), statement: text, links: split(links), models: split(models) })),
      );
    } catch (err) {
      return setError((err as Error).message);
    }
    setBusy(true);
    try {
      const signature = await signTypedDataAsync(statementTypedData(app.chainId, app.contracts!.governor, statement));
      const res = await fetch(`/api/delegates/${me}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ statement: statementToJson(statement), signature }),
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `the server answered ${res.status}`);
      }
      setDone(true);
      setOpen(false);
      router.refresh();
    } catch (err) {
      setError(describeWalletError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="card"
      data-testid="statement-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3 style={{ marginTop: 0 }}>Your statement</h3>
      <p className="small muted">Your wallet signs it (EIP-712, no transaction, no gas); anyone can check the signature. A later edit replaces it.</p>
      <label className="field">
        <span>Name</span>
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={STATEMENT_LIMITS.nameChars} required />
      </label>
      <label className="field">
        <span>Statement (Markdown)</span>
        <textarea value={text} onChange={(e) => setText(e.target.value)} rows={8} maxLength={STATEMENT_LIMITS.statementChars} />
      </label>
      <label className="field">
        <span>Links (http(s), one per line)</span>
        <textarea value={links} onChange={(e) => setLinks(e.target.value)} rows={2} />
      </label>
      <label className="field">
        <span>Models you care about (slugs, comma-separated)</span>
        <input value={models} onChange={(e) => setModels(e.target.value)} />
      </label>
      <div className="btn-row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Signing…' : 'Sign and publish'}
        </button>
        <button type="button" className="btn" onClick={() => setOpen(false)} disabled={busy}>
          Cancel
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {done && <p role="status">Published.</p>}
    </form>
  );
}
