import type { Metadata } from 'next';
import { getModels, getModel } from '@/lib/web/queries/models';
import { getManifestView } from '@/lib/web/queries/manifests';
import { getGovernanceParams } from '@/lib/web/queries/proposals';
import type { ModelOption } from './new-proposal-form';
import { LazyNewProposalForm } from './lazy-form';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'New proposal' };

type Search = Promise<{ type?: string; model?: string }>;

export default async function NewProposalPage({ searchParams }: { searchParams: Search }) {
  const sp = await searchParams;
  const [models, params] = await Promise.all([getModels(), getGovernanceParams()]);
  const options: ModelOption[] = await Promise.all(
    models.map(async (m) => {
      const detail = await getModel(m.slug);
      const current = m.current ? await getManifestView(m.current.manifestDigest) : null;
      return {
        modelId: m.modelId,
        slug: m.slug,
        currentVersion: m.currentVersion,
        currentDigest: m.current?.manifestDigest ?? null,
        accessKind: m.accessKind,
        versions: (detail?.versions ?? []).map((v) => ({ version: v.version, status: v.status })),
        allowlist: detail?.allowlist ?? [],
        current: current ? { manifest: current.manifest, safetensors: current.safetensors } : null,
      };
    }),
  );
  return (
    <>
      <h1>New proposal</h1>
      <p className="muted">
        Everything the DAO controls changes through a proposal: holders vote, then anyone queues it in the timelock and executes it
        after the delay. Proposing needs at least {Number(params.proposalThreshold / 10n ** 18n).toLocaleString('en-US')} votes.
      </p>
      <noscript>
        <p className="notice-warn">Creating a proposal needs JavaScript and a wallet. Reading proposals works without either.</p>
      </noscript>
      <LazyNewProposalForm
        models={options}
        threshold={params.proposalThreshold.toString()}
        initialType={sp.type}
        initialModel={sp.model}
      />
    </>
  );
}
