'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

/**
 * Keeps a server-rendered page current: follows GET /api/events (filtered to this proposal or model)
 * and re-renders the page's server components (router.refresh: no full reload, client state kept)
 * when something about it was indexed. Event payloads are not rendered; the page re-reads the index.
 */
export function LiveEvents({ proposalId, model }: { proposalId?: string; model?: string }) {
  const router = useRouter();
  const [live, setLive] = useState(false);
  useEffect(() => {
    const q = new URLSearchParams();
    if (proposalId) q.set('proposal', proposalId);
    if (model) q.set('model', model);
    const es = new EventSource(`/api/events?${q}`);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refresh = () => {
      // a burst of events (one block) becomes one refresh
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        router.refresh();
      }, 150);
    };
    const kinds = [
      'proposal.created',
      'proposal.vote',
      'proposal.state',
      'version.published',
      'version.current',
      'version.deprecated',
      'version.revoked',
      'access.changed',
      'correction',
      'reorg',
    ];
    for (const k of kinds) es.addEventListener(k, refresh);
    es.onopen = () => setLive(true);
    es.onerror = () => setLive(false);
    return () => {
      if (timer) clearTimeout(timer);
      es.close();
    };
  }, [proposalId, model, router]);
  return (
    <span className="small muted" data-testid="live-updates" data-live={live ? 'on' : 'off'} title="Updates as the chain is indexed">
      {live ? '● live' : '○ connecting'}
    </span>
  );
}
