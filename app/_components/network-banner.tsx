'use client';

import { useConnection, useSwitchChain } from 'wagmi';
import { useAppConfig } from '@/lib/web/app-config-context';
import { describeWalletError } from '@/lib/web/wallet-errors';

/** Wrong network: say which one is expected and offer the switch. */
export function NetworkBanner() {
  const app = useAppConfig();
  const { status, chainId } = useConnection();
  const switchChain = useSwitchChain();
  if (status !== 'connected' || chainId === app.chainId) return null;
  return (
    <div className="banner banner-warn" role="alert" data-testid="wrong-network">
      Your wallet is on chain {chainId}; modeldao runs on {app.chainName} (chain id {app.chainId}).{' '}
      <button type="button" className="btn btn-small" onClick={() => switchChain.mutate({ chainId: app.chainId })}>
        Switch to {app.chainName}
      </button>
      {switchChain.error && (
        <span className="error">
          {' '}
          {describeWalletError(switchChain.error)} If your wallet does not know this chain, add it with RPC {app.rpcUrl}.
        </span>
      )}
    </div>
  );
}
