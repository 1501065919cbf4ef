'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

const items = [
  { href: '/', label: 'Models', match: (p: string) => p === '/' || p.startsWith('/models') },
  { href: '/proposals', label: 'Proposals', match: (p: string) => p.startsWith('/proposals') },
  { href: '/delegates', label: 'Delegates', match: (p: string) => p.startsWith('/delegates') },
  { href: '/treasury', label: 'Treasury', match: (p: string) => p.startsWith('/treasury') },
];

export function MainNav() {
  const pathname = usePathname() ?? '/';
  return (
    <nav aria-label="Main" className="main-nav">
      <ul>
        {items.map((i) => (
          <li key={i.href}>
            <Link href={i.href} aria-current={i.match(pathname) ? 'page' : undefined}>
              {i.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
