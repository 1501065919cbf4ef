// injected and mock straight from wagmi (the same functions as 'wagmi/connectors', without the
// barrel of every third-party wallet SDK connector).
import { cookieStorage, createConfig, createConnector, createStorage, http, injected, mock } from 'wagmi';
import { defineChain } from 'viem';
import { DEV_ACCOUNTS, DEV_CHAIN_ID } from './app-config';

export interface WalletChainParams {
  chainId: number;
  rpcUrl: string;
}

/**
 * One anvil dev account as a connector. It wraps wagmi's `mock` connector, which forwards every
 * request (eth_sendTransaction, eth_signTypedData_v4…) to the chain's RPC, where anvil signs with
 * the unlocked account. Only the public address is known to the browser.
 * Unlike a bare `mock`, it only reconnects on reload when it was the last connector used, so the
 * six dev accounts do not all claim the session.
 */
function devAccount(index: number, address: `0x${string}`, label: string) {
  const base = mock({ accounts: [address], features: { reconnect: true } });
  return createConnector((config) => {
    const connector = base(config);
    return {
      ...connector,
      id: `dev-${index}`,
      name: label,
      async isAuthorized() {
        const recent = await config.storage?.getItem('recentConnectorId');
        return recent === `dev-${index}`;
      },
    };
  });
}

/** The app's wagmi config. One factory, used by the root layout (cookie → initial state) and the providers. */
export function getConfig({ chainId, rpcUrl }: WalletChainParams) {
  // A minimal chain object: importing viem/chains' definitions (OP-stack formatters and all) would
  // add their code to every page's first-load JS.
  const chain = defineChain({
    id: chainId,
    name: chainId === DEV_CHAIN_ID ? 'Anvil' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const connectors = [injected({ shimDisconnect: true })];
  if (chainId === DEV_CHAIN_ID) {
    for (const a of DEV_ACCOUNTS) connectors.push(devAccount(a.index, a.address, a.label) as never);
  }
  return createConfig({
    chains: [chain],
    connectors,
    ssr: true,
    storage: createStorage({ storage: cookieStorage }),
    transports: { [chain.id]: http(rpcUrl) },
    // Local dev chains mine instantly; poll faster so receipts show up at once.
    pollingInterval: chainId === DEV_CHAIN_ID ? 500 : 4_000,
    multiInjectedProviderDiscovery: true,
  });
}

declare module 'wagmi' {
  interface Register {
    config: ReturnType<typeof getConfig>;
  }
}
