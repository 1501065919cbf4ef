'use client';

import { pathProblem } from '@/lib/manifest/paths';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useConnection, useSignTypedData } from 'wagmi';
import type { Hex } from 'viem';
import { useAppConfig } from '@/lib/web/app-config-context';
import { signUploadAuthorization } from '@/lib/artifacts/upload-auth-format';
import { createRenewingUploadAuth } from '@/lib/artifacts/upload-auth-renewal';
import type { UploadedFile } from '@/lib/web/draft-manifest';
import { storeManifest as postManifest, uploadWithProgress, type UploadHeaders } from '@/lib/web/uploads';

export interface FileState {
  key: string;
  file: File;
  loaded: number;
  status: 'queued' | 'uploading' | 'done' | 'error';
  result?: UploadedFile;
  error?: string;
}

/**
 * The files of a new version and its manifest, as the proposal form uploads them: one signed upload
 * authorization per account, renewed before it expires on every path (single-request uploads,
 * resumable sessions, storing the manifest), so a form left open past the authorization's 30 minutes
 * still uploads instead of failing with "expired".
 */
export function useUploads() {
  const app = useAppConfig();
  const { address } = useConnection();
  // Stable for the component's life (TanStack's observer.mutate, bound once), so the authorization
  // below is renewed per account/chain/registry, not per render.
  const { mutateAsync: signTypedDataAsync } = useSignTypedData();
  const registry = app.contracts?.registry;

  const auth = useMemo(
    () =>
      address && registry
        ? createRenewingUploadAuth({
            sign: (expiry) =>
              signUploadAuthorization(
                { signTypedData: (td) => signTypedDataAsync(td) },
                // the page's origin: the uploads and the manifest are posted to it (lib/web/uploads.ts)
                { account: address, chainId: app.chainId, registry, audience: window.location.origin, expiry },
              ),
          })
        : null,
    [address, app.chainId, registry, signTypedDataAsync],
  );
  // Another account (or chain): the old authorization is dropped with its signer.
  useEffect(() => () => auth?.clear(), [auth]);
  const headers: UploadHeaders = useCallback(
    async (renew = false) => {
      if (!auth) throw new Error('Connect a wallet to upload: uploads are signed by your account.');
      return renew ? auth.renew() : auth.headers();
    },
    [auth],
  );

  const [files, setFiles] = useState<FileState[]>([]);
  const [manifestDigest, setManifestDigest] = useState<Hex | null>(null);
  const [manifestBusy, setManifestBusy] = useState(false);

  const update = (key: string, patch: Partial<FileState>) => setFiles((prev) => prev.map((p) => (p.key === key ? { ...p, ...patch } : p)));

  const addFiles = useCallback(
    async (list: FileList | File[]) => {
      const incoming = [...list];
      setManifestDigest(null);
      // The manifest's path rules (lib/manifest/paths.ts), before any byte is uploaded.
      const states: FileState[] = incoming.map((file) => {
        const problem = pathProblem(file.name);
        return {
          key: `${file.name}:${file.size}:${Math.random()}`,
          file,
          loaded: 0,
          ...(problem ? { status: 'error' as const, error: `${file.name}: ${problem}` } : { status: 'queued' as const }),
        };
      });
      setFiles((prev) => [...prev.filter((p) => !incoming.some((f) => f.name === p.file.name)), ...states]);
      try {
        await headers(); // one signature for the batch, before the first byte
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        setFiles((prev) => prev.map((p) => (states.some((s) => s.key === p.key) ? { ...p, status: 'error', error: message } : p)));
        return;
      }
      for (const s of states) {
        if (s.status === 'error') continue;
        update(s.key, { status: 'uploading' });
        try {
          const result = await uploadWithProgress(s.file, headers, (loaded) => update(s.key, { loaded }));
          update(s.key, { status: 'done', loaded: s.file.size, result });
        } catch (err) {
          update(s.key, { status: 'error', error: err instanceof Error ? err.message : String(err) });
        }
      }
    },
    [headers],
  );

  const removeFile = useCallback((key: string) => {
    setFiles((prev) => prev.filter((p) => p.key !== key));
    setManifestDigest(null);
  }, []);

  /** Stores the manifest (POST /api/manifests); throws what went wrong, in words. */
  const storeManifest = useCallback(
    async (manifest: unknown) => {
      setManifestBusy(true);
      try {
        setManifestDigest(await postManifest(manifest, headers));
      } finally {
        setManifestBusy(false);
      }
    },
    [headers],
  );
  const invalidateManifest = useCallback(() => setManifestDigest(null), []);

  const uploaded = useMemo(() => files.filter((f) => f.status === 'done' && f.result).map((f) => f.result!), [files]);
  const counts = useMemo(
    () => ({
      total: files.length,
      pending: files.filter((f) => f.status === 'uploading' || f.status === 'queued').length,
      failed: files.filter((f) => f.status === 'error').length,
    }),
    [files],
  );
  return { files, uploaded, counts, addFiles, removeFile, manifestDigest, manifestBusy, storeManifest, invalidateManifest };
}

export type Uploads = ReturnType<typeof useUploads>;
