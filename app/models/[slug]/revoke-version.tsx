'use client';

import { useRef } from 'react';
import { useConnection } from 'wagmi';
import { modelRegistryAbi } from '@/lib/contracts/generated';
import { useAppConfig } from '@/lib/web/app-config-context';
import { phaseText, useDaoTx } from '@/lib/web/hooks/use-dao-tx';

/** The guardian's one power: revoke a version at once. Shown only to the guardian, behind a confirmation. */
export function RevokeVersion({ modelId, slug, version, isCurrent }: { modelId: string; slug: string; version: number; isCurrent: boolean }) {
  const app = useAppConfig();
  const { address } = useConnection();
  const tx = useDaoTx();
  const dialog = useRef<HTMLDialogElement>(null);
  if (!address || !app.guardian || address.toLowerCase() !== app.guardian.toLowerCase() || !app.contracts) return null;

  const confirm = async () => {
    const ok = await tx.run({
      address: app.contracts!.registry,
      abi: modelRegistryAbi,
      functionName: 'revokeVersion',
      args: [BigInt(modelId), version],
    });
    if (ok) dialog.current?.close();
  };

  return (
    <div style={{ marginTop: 6 }}>
      <button type="button" className="btn btn-small btn-danger" onClick={() => dialog.current?.showModal()}>
        Revoke v{version} (guardian)
      </button>
      <dialog ref={dialog} aria-labelledby={`revoke-${version}-title`}>
        <h2 id={`revoke-${version}-title`}>
          Revoke version {version} of {slug}?
        </h2>
        <p>This is immediate and permanent. After it:</p>
        <ul>
          {isCurrent ? (
            <li>
              <strong>{slug} has no approved version.</strong> Consumers, the CLI and the SDK refuse to fetch it until governance makes another version current
              through a proposal.
            </li>
          ) : (
            <li>Version {version} can never become current again.</li>
          )}
          <li>Its files stop being served (unless another, unrevoked version uses the same bytes).</li>
          <li>Everyone sees on this page that the guardian revoked it.</li>
        </ul>
        {tx.phase !== 'idle' && tx.phase !== 'error' && <p role="status">{phaseText(tx.phase)}</p>}
        {tx.error && (
          <p role="alert" className="error">
            {tx.error}
          </p>
        )}
        <div className="btn-row">
          <button type="button" className="btn btn-danger" onClick={confirm} disabled={tx.busy}>
            Yes, revoke v{version}
          </button>
          <button type="button" className="btn" onClick={() => dialog.current?.close()} disabled={tx.busy}>
            Keep it
          </button>
        </div>
      </dialog>
    </div>
  );
}
