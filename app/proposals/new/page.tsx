import type { Metadata } from 'next';
import { getModels, getModel } from '@/lib/web/queries/models';
import { getManifestView } from '@/lib/web/queries/manifests';
import { getGovernanceParams } from '@/lib/web/queries/proposals';
import { formatUnitsExact } from '@/lib/web/format';
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
      const versions = detail?.versions ?? [];
      // The registry wants an existing version as parent once a model has any. With no current version
      // (revoked or deprecated away) the new version descends from the newest one that was not revoked,
      // else from the newest one: the lineage stays intact and the diff has a base.
      const newestFirst = [...versions].sort((a, b) => b.version - a.version);
      const parent = versions.find((v) => v.version === m.currentVersion) ?? newestFirst.find((v) => v.status !== 'Revoked') ?? newestFirst[0] ?? null;
      const base = parent ? await getManifestView(parent.manifestDigest) : null;
      return {
        modelId: m.modelId,
        slug: m.slug,
        currentVersion: m.currentVersion,
        currentDigest: m.current?.manifestDigest ?? null,
        parent: parent ? { version: parent.version, digest: parent.manifestDigest, status: parent.status } : null,
        accessKind: m.accessKind,
        versions: versions.map((v) => ({ version: v.version, status: v.status })),
        allowlist: detail?.allowlist ?? [],
        current: base ? { manifest: base.manifest, safetensors: base.safetensors } : null,
      };
    }),
  );
  return (
    <>
      <h1>New proposal</h1>
      <p className="muted">
        Everything the DAO controls changes through a proposal: holders vote, then anyone queues it in the timelock and executes it after the delay. Proposing
        needs at least {formatUnitsExact(params.proposalThreshold)} votes.
      </p>
      <noscript>
        <p className="notice-warn">Creating a proposal needs JavaScript and a wallet. Reading proposals works without either.</p>
      </noscript>
      <LazyNewProposalForm models={options} threshold={params.proposalThreshold.toString()} initialType={sp.type} initialModel={sp.model} />
    </>
  );
}
