'use client';

import { createContext, useContext, useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { WagmiProvider, type State } from 'wagmi';
import { getConfig } from '@/lib/web/wagmi';
import type { AppConfig } from '@/lib/web/app-config';

const AppConfigContext = createContext<AppConfig | null>(null);

/** Chain id, RPC URL and contract addresses the server rendered into the page. */
export function useAppConfig(): AppConfig {
  const c = useContext(AppConfigContext);
  if (!c) throw new Error('useAppConfig outside <Providers>');
  return c;
}

export function Providers({ app, initialState, children }: { app: AppConfig; initialState?: State; children: ReactNode }) {
  // Created per browser session (never at module scope, which the server would share between requests).
  const [config] = useState(() => getConfig({ chainId: app.chainId, rpcUrl: app.rpcUrl }));
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: { queries: { staleTime: 5_000, refetchOnWindowFocus: false, retry: 1 } },
      }),
  );
  return (
    <AppConfigContext.Provider value={app}>
      <WagmiProvider config={config} initialState={initialState}>
        <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
      </WagmiProvider>
    </AppConfigContext.Provider>
  );
}
