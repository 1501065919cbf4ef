'use client';

import dynamic from 'next/dynamic';

// The form is interactive only (it needs a wallet), so its code and the ABIs it encodes with load
// after the page, not in every visitor's first-load JS.
export const LazyNewProposalForm = dynamic(() => import('./new-proposal-form').then((m) => m.NewProposalForm), {
  ssr: false,
  loading: () => <p className="muted">Loading the proposal form…</p>,
});
