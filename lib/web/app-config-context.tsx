'use client';

import { createContext, useContext, type ReactNode } from 'react';
import type { AppConfig } from './app-config';

// The app config the server rendered into the page, for client components and lib/web hooks. It
// lives in lib/web (not app/) so that lib never imports app: app/providers.tsx mounts the provider.

const AppConfigContext = createContext<AppConfig | null>(null);

export function AppConfigProvider({ value, children }: { value: AppConfig; children: ReactNode }) {
  return <AppConfigContext.Provider value={value}>{children}</AppConfigContext.Provider>;
}

/** Chain id, RPC URL and contract addresses the server rendered into the page. */
export function useAppConfig(): AppConfig {
  const c = useContext(AppConfigContext);
  if (!c) throw new Error('useAppConfig outside <Providers>');
  return c;
}
