import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { headers } from 'next/headers';
import { cookieToInitialState } from 'wagmi';
import { getConfig } from '@/lib/web/wagmi';
import { getAppConfig } from '@/lib/web/server-app-config';
import { getEnv } from '@/lib/web/server-env';
import { Providers } from './providers';
import { SiteHeader } from './_components/site-header';
import './globals.css';

const DESCRIPTION = 'Token holders decide, on chain, which weights of a community model are approved.';

/**
 * Icons and the social preview come from public/ (made by scripts/make-icons.mjs). A shared link's
 * preview image needs an absolute URL: PUBLIC_BASE_URL (or the local default), via metadataBase.
 */
export async function generateMetadata(): Promise<Metadata> {
  return {
    metadataBase: new URL(getEnv().publicBaseUrl),
    title: { default: 'modeldao', template: '%s · modeldao' },
    description: DESCRIPTION,
    icons: {
      icon: [
        { url: '/favicon.ico', sizes: '16x16 32x32 48x48' },
        { url: '/favicon.svg', type: 'image/svg+xml' },
      ],
      apple: [{ url: '/apple-touch-icon.png', sizes: '180x180' }],
    },
    manifest: '/site.webmanifest',
    openGraph: {
      type: 'website',
      siteName: 'modeldao',
      title: 'modeldao',
      description: DESCRIPTION,
      images: [{ url: '/og-image.png', width: 1200, height: 630, alt: 'modeldao: model weights approved on chain' }],
    },
    twitter: { card: 'summary_large_image', images: ['/og-image.png'] },
  };
}

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const app = await getAppConfig();
  const initialState = cookieToInitialState(getConfig({ chainId: app.chainId, rpcUrl: app.rpcUrl }), (await headers()).get('cookie'));
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
              <strong>No contracts found.</strong> {app.deploymentProblem}. Start the local stack with <code>npm run dev</code>, or point{' '}
              <code>DEPLOYMENT_FILE</code> at a deployment record.
            </div>
          )}
          <main id="main">{children}</main>
          <footer className="site-footer">
            <p>
              Chain {app.chainName} ({app.chainId}) · weights are verified against the on-chain manifest digest, not this site.
            </p>
          </footer>
        </Providers>
      </body>
    </html>
  );
}
