'use client';

import { useState } from 'react';
import { useConnection } from 'wagmi';
import { isAddress } from 'viem';
import { modelTokenAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/lib/web/app-config-context';
import { useAccountPower } from '@/lib/web/hooks/use-account-power';
import { phaseText, useDaoTx } from '@/lib/web/hooks/use-dao-tx';
import { useDelegate } from '@/lib/web/hooks/use-gasless';
import { formatTokens } from '@/lib/web/format';

const ZERO = /^0x0{40}$/;

export function DelegatePanel() {
  const app = useAppConfig();
  const { address, status } = useConnection();
  const power = useAccountPower();
  const tx = useDaoTx();
  const [to, setTo] = useState('');
  const [inputError, setInputError] = useState<string | null>(null);

  const delegate = (target: `0x${string}`) => tx.run({ address: app.contracts!.token, abi: modelTokenAbi, functionName: 'delegate', args: [target] });

  if (status !== 'connected' || !address) {
    return (
      <section className="card" aria-labelledby="you-h">
        <h2 id="you-h" style={{ marginTop: 0 }}>
          Your voting power
        </h2>
        <p>Connect a wallet (top right) to see your voting power and delegate.</p>
      </section>
    );
  }
  const d = power.data;
  const self = d && d.delegate.toLowerCase() === address.toLowerCase();
  return (
    <section className="card" aria-labelledby="you-h" data-testid="delegate-panel">
      <h2 id="you-h" style={{ marginTop: 0 }}>
        Your voting power
      </h2>
      {!d ? (
        <p>Loading…</p>
      ) : (
        <>
          <dl className="kv">
            <dt>Balance</dt>
            <dd>
              {formatTokens(d.balance)} {app.tokenSymbol}
            </dd>
            <dt>Voting power</dt>
            <dd data-testid="my-voting-power">{formatTokens(d.votes)} votes</dd>
            <dt>Delegated to</dt>
            <dd className="mono">{ZERO.test(d.delegate) ? 'nobody yet' : self ? 'yourself' : d.delegate}</dd>
          </dl>
          {power.needsDelegation && (
            <p className="notice-warn" data-testid="delegate-first">
              <strong>You have tokens but no voting power — delegate first.</strong> Delegate to yourself to vote directly.
            </p>
          )}
          {d.balance === 0n && d.votes === 0n && <p className="muted">This account holds no {app.tokenSymbol}; there is nothing to delegate.</p>}
        </>
      )}
      <div className="btn-row" style={{ marginTop: 10 }}>
        <button type="button" className="btn btn-primary" disabled={tx.busy || !d || d.balance === 0n || Boolean(self)} onClick={() => delegate(address)}>
          Delegate to myself
        </button>
      </div>
      <form
        className="btn-row"
        style={{ marginTop: 10 }}
        onSubmit={(e) => {
          e.preventDefault();
          const v = to.trim();
          if (!isAddress(v)) return setInputError('Enter a 0x address (40 hex characters).');
          setInputError(null);
          void delegate(v);
        }}
      >
        <label className="field" style={{ margin: 0, flex: '1 1 260px' }}>
          <span>Or delegate to an address</span>
          <input value={to} onChange={(e) => setTo(e.target.value)} placeholder="0x…" aria-invalid={Boolean(inputError)} aria-describedby="delegate-to-err" />
        </label>
        <button type="submit" className="btn" disabled={tx.busy || !d || d.balance === 0n} style={{ alignSelf: 'end' }}>
          Delegate
        </button>
      </form>
      {inputError && (
        <p id="delegate-to-err" className="error">
          {inputError}
        </p>
      )}
      {tx.phase !== 'idle' && tx.phase !== 'error' && <p role="status">{phaseText(tx.phase)}</p>}
      {tx.error && (
        <p role="alert" className="error">
          {tx.error}
        </p>
      )}
    </section>
  );
}

export function DelegateToButton({ to }: { to: string }) {
  const { status } = useConnection();
  const power = useAccountPower();
  // gasless when the relay accepts it (signed delegation), else a wallet transaction with the reason shown
  const d = useDelegate();
  if (status !== 'connected' || !power.data || power.data.balance === 0n || !isAddress(to)) return null;
  if (power.data.delegate.toLowerCase() === to.toLowerCase()) return <span className="small muted">your delegate</span>;
  return (
    <span>
      <button type="button" className="btn btn-small" disabled={d.busy} aria-label={`Delegate your votes to ${to}`} onClick={() => void d.delegate(to)}>
        {d.busy ? '…' : 'Delegate'}
      </button>
      {d.notice && (
        <span className="small muted" role="status">
          {' '}
          {d.notice}
        </span>
      )}
      {d.error && (
        <span className="small notice-err" role="alert">
          {' '}
          {d.error}
        </span>
      )}
    </span>
  );
}
