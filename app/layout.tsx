import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { headers } from 'next/headers';
import { cookieToInitialState } from 'wagmi';
import { getConfig } from '@/lib/web/wagmi';
import { getAppConfig } from '@/lib/web/server-app-config';
import { Providers } from './providers';
import { SiteHeader } from './_components/site-header';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'modeldao', template: '%s · modeldao' },
  description: 'Token holders decide, on chain, which weights of a community model are approved.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const app = await getAppConfig();
  const initialState = cookieToInitialState(
    getConfig({ chainId: app.chainId, rpcUrl: app.rpcUrl }),
    (await headers()).get('cookie'),
  );
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Providers app={app} initialState={initialState}>
          <SiteHeader />
          {app.deploymentProblem && (
            <div className="banner banner-error" role="alert">
              <strong>No contracts found.</strong> {app.deploymentProblem}. Start the local stack with{' '}
              <code>npm run dev</code>, or point <code>DEPLOYMENT_FILE</code> at a deployment record.
            </div>
          )}
          <main id="main">{children}</main>
          <footer className="site-footer">
            <p>
              Chain {app.chainName} ({app.chainId}) · weights are verified against the on-chain manifest digest, not this
              site.
            </p>
          </footer>
        </Providers>
      </body>
    </html>
  );
}
