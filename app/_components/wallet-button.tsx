'use client';

import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { useConnect, useConnection, useConnectors, useDisconnect } from 'wagmi';
import { useAppConfig } from '@/lib/web/app-config-context';
import { useAccountPower } from '@/lib/web/hooks/use-account-power';
import { formatTokens, shortAddress } from '@/lib/web/format';
import { describeWalletError } from '@/lib/web/wallet-errors';

export function WalletButton() {
  const app = useAppConfig();
  const { address, status, chainId, connector } = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const power = useAccountPower();
  const [open, setOpen] = useState(false);
  const [mounted, setMounted] = useState(false);
  const [hasInjected, setHasInjected] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setMounted(true);
    setHasInjected(typeof window !== 'undefined' && Boolean((window as { ethereum?: unknown }).ethereum));
  }, []);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    const onClick = (e: MouseEvent) => ref.current && !ref.current.contains(e.target as Node) && setOpen(false);
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const devConnectors = connectors.filter((c) => c.id.startsWith('dev-'));
  const walletConnectors = connectors.filter((c) => !c.id.startsWith('dev-') && (c.id !== 'injected' || hasInjected));

  if (status === 'connected' && address) {
    const wrongChain = chainId !== app.chainId;
    return (
      <div className="wallet" ref={ref}>
        <button
          type="button"
          className="wallet-button connected"
          aria-expanded={open}
          aria-controls="wallet-menu"
          onClick={() => setOpen((o) => !o)}
          data-testid="wallet-account"
        >
          <span className="wallet-address">{shortAddress(address)}</span>
          <span className="wallet-meta" data-testid="wallet-votes">
            {power.data ? `${formatTokens(power.data.votes)} votes` : '… votes'}
          </span>
          <span className={`wallet-chain ${wrongChain ? 'bad' : ''}`}>{wrongChain ? `chain ${chainId}` : app.chainName}</span>
        </button>
        {open && (
          <div id="wallet-menu" className="wallet-menu" role="region" aria-label="Wallet">
            <dl>
              <dt>Account</dt>
              <dd className="mono">{address}</dd>
              <dt>Connected with</dt>
              <dd>{connector?.name}</dd>
              <dt>Balance</dt>
              <dd>{power.data ? `${formatTokens(power.data.balance)} ${app.tokenSymbol}` : '…'}</dd>
              <dt>Voting power</dt>
              <dd>{power.data ? `${formatTokens(power.data.votes)} votes` : '…'}</dd>
              <dt>Delegate</dt>
              <dd>{power.data ? delegateLabel(power.data.delegate, address) : '…'}</dd>
            </dl>
            {power.needsDelegation && (
              <p className="notice-warn">
                You have tokens but no voting power —{' '}
                <Link href="/delegates" onClick={() => setOpen(false)}>
                  delegate first
                </Link>
                .
              </p>
            )}
            <button
              type="button"
              className="btn"
              onClick={() => {
                disconnect.mutate();
                setOpen(false);
              }}
            >
              Disconnect
            </button>
          </div>
        )}
      </div>
    );
  }

  return (
    <div className="wallet" ref={ref}>
      <button
        type="button"
        className="wallet-button"
        aria-expanded={open}
        aria-controls="wallet-menu"
        onClick={() => setOpen((o) => !o)}
        disabled={status === 'connecting' || status === 'reconnecting'}
      >
        {status === 'connecting' || status === 'reconnecting' ? 'Connecting…' : 'Connect wallet'}
      </button>
      {open && mounted && (
        <div id="wallet-menu" className="wallet-menu" role="region" aria-label="Connect a wallet">
          {walletConnectors.length > 0 ? (
            <ul className="connector-list">
              {walletConnectors.map((c) => (
                <li key={c.uid}>
                  <button type="button" className="btn" onClick={() => connect.mutate({ connector: c }, { onSuccess: () => setOpen(false) })}>
                    {c.id === 'injected' ? 'Browser wallet' : c.name}
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p data-testid="no-wallet">
              No browser wallet found. Install one (MetaMask, Rabby…) and reload to vote or propose. Reading works without a wallet.
            </p>
          )}
          {devConnectors.length > 0 && (
            <>
              <p className="muted small">Local chain: use an anvil dev account (anvil signs for it).</p>
              <ul className="connector-list">
                {devConnectors.map((c) => (
                  <li key={c.uid}>
                    <button type="button" className="btn" onClick={() => connect.mutate({ connector: c }, { onSuccess: () => setOpen(false) })}>
                      {c.name}
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
          {connect.error && (
            <p role="alert" className="error">
              {describeWalletError(connect.error)}
            </p>
          )}
        </div>
      )}
    </div>
  );
}

function delegateLabel(delegate: string, self: string): string {
  if (/^0x0{40}$/.test(delegate)) return 'nobody yet';
  if (delegate.toLowerCase() === self.toLowerCase()) return 'yourself';
  return shortAddress(delegate);
}
