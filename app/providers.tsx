'use client';

import { useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { WagmiProvider, type State } from 'wagmi';
import { getConfig } from '@/lib/web/wagmi';
import type { AppConfig } from '@/lib/web/app-config';
import { AppConfigProvider } from '@/lib/web/app-config-context';

// Kept for components written against the old home (branches in flight); new code imports it from
// @/lib/web/app-config-context.
export { useAppConfig } from '@/lib/web/app-config-context';

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
    <AppConfigProvider value={app}>
      <WagmiProvider config={config} initialState={initialState}>
        <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
      </WagmiProvider>
    </AppConfigProvider>
  );
}
