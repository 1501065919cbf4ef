import Link from 'next/link';
import { MainNav } from './main-nav';
import { WalletButton } from './wallet-button';
import { NetworkBanner } from './network-banner';

export function SiteHeader() {
  return (
    <header className="site-header">
      <div className="site-header-row">
        <Link href="/" className="brand" aria-label="modeldao home">
          model<span>dao</span>
        </Link>
        <MainNav />
        <WalletButton />
      </div>
      <NetworkBanner />
    </header>
  );
}
