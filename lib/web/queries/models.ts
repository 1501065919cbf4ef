import 'server-only';
import { cache } from 'react';
import { and, asc, desc, eq, isNotNull } from 'drizzle-orm';
import { model, modelAllowlist, modelVersion } from '@/db/schema';
import { getEnv } from '@/lib/web/server-env';
import { getDb } from './db';

import type { AccessKindName, VersionStatusName } from '@/lib/chain/registry-enums';

export type { VersionStatusName };

export interface ModelRow {
  modelId: string;
  slug: string;
  accessKind: AccessKindName;
  accessToken: string;
  accessMinBalance: string;
  currentVersion: number;
  versionCount: number;
  registeredAt: number;
  registeredTx: string;
}

export interface VersionRow {
  version: number;
  manifestDigest: `0x${string}`;
  parentVersion: number;
  publishedAt: number;
  publishedTx: string;
  status: VersionStatusName;
  statusChangedAt: number | null;
  statusChangedTx: string | null;
  statusChangedBy: string | null;
  currentFrom: number | null;
  currentTo: number | null;
  currentFromTx: string | null;
  currentToTx: string | null;
}

const sec = (d: Date | null | undefined) => (d ? Math.floor(d.getTime() / 1000) : null);

function toModel(r: typeof model.$inferSelect): ModelRow {
  return {
    modelId: String(r.modelId),
    slug: r.slug,
    accessKind: r.accessKind as ModelRow['accessKind'],
    accessToken: r.accessToken,
    accessMinBalance: String(r.accessMinBalance),
    currentVersion: r.currentVersion,
    versionCount: r.versionCount,
    registeredAt: sec(r.registeredAt)!,
    registeredTx: r.registeredTx,
  };
}

function toVersion(r: typeof modelVersion.$inferSelect): VersionRow {
  return {
    version: r.version,
    manifestDigest: r.manifestDigest as `0x${string}`,
    parentVersion: r.parentVersion,
    publishedAt: sec(r.publishedAt)!,
    publishedTx: r.publishedTx,
    status: r.status as VersionStatusName,
    statusChangedAt: sec(r.statusChangedAt),
    statusChangedTx: r.statusChangedTx,
    statusChangedBy: r.statusChangedBy,
    currentFrom: sec(r.currentFrom),
    currentTo: sec(r.currentTo),
    currentFromTx: r.currentFromTx,
    currentToTx: r.currentToTx,
  };
}

export interface ModelListItem extends ModelRow {
  current: VersionRow | null;
  lastChangeAt: number;
}

/** Every model with its current version (the Models page). */
export const getModels = cache(async (): Promise<ModelListItem[]> => {
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const [models, versions] = await Promise.all([
    db.select().from(model).where(eq(model.chainId, chainId)).orderBy(asc(model.slug)),
    db.select().from(modelVersion).where(eq(modelVersion.chainId, chainId)),
  ]);
  return models.map((m) => {
    const row = toModel(m);
    const mine = versions.filter((v) => String(v.modelId) === row.modelId).map(toVersion);
    const current = mine.find((v) => v.version === row.currentVersion) ?? null;
    const lastChangeAt = Math.max(row.registeredAt, ...mine.flatMap((v) => [v.publishedAt, v.statusChangedAt ?? 0, v.currentFrom ?? 0, v.currentTo ?? 0]));
    return { ...row, current, lastChangeAt };
  });
});

export interface ModelDetail extends ModelRow {
  versions: VersionRow[];
  allowlist: string[];
}

export const getModel = cache(async (slug: string): Promise<ModelDetail | null> => {
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const [m] = await db
    .select()
    .from(model)
    .where(and(eq(model.chainId, chainId), eq(model.slug, slug)))
    .limit(1);
  if (!m) return null;
  const [versions, allow] = await Promise.all([
    db
      .select()
      .from(modelVersion)
      .where(and(eq(modelVersion.chainId, chainId), eq(modelVersion.modelId, m.modelId)))
      .orderBy(asc(modelVersion.version)),
    db
      .select()
      .from(modelAllowlist)
      .where(and(eq(modelAllowlist.chainId, chainId), eq(modelAllowlist.modelId, m.modelId), eq(modelAllowlist.allowed, true))),
  ]);
  return { ...toModel(m), versions: versions.map(toVersion), allowlist: allow.map((a) => a.account) };
});

/** modelId → slug, for decoding proposal actions into names. */
export const getModelSlugs = cache(async (): Promise<Record<string, string>> => {
  const db = await getDb();
  const rows = await db.select({ id: model.modelId, slug: model.slug }).from(model).where(eq(model.chainId, getEnv().CHAIN_ID));
  return Object.fromEntries(rows.map((r) => [String(r.id), r.slug]));
});

export interface ApprovalRow {
  slug: string;
  version: number;
  /** unix seconds: when it became the current version */
  at: number;
  /** the transaction that made it current (the executed proposal's) */
  tx: string;
}

/** The latest versions made current (approved) by governance, newest first. */
export const getRecentApprovals = cache(async (limit: number): Promise<ApprovalRow[]> => {
  const db = await getDb();
  const chainId = getEnv().CHAIN_ID;
  const rows = await db
    .select({ slug: model.slug, version: modelVersion.version, at: modelVersion.currentFrom, tx: modelVersion.currentFromTx })
    .from(modelVersion)
    .innerJoin(model, and(eq(model.chainId, modelVersion.chainId), eq(model.modelId, modelVersion.modelId)))
    .where(and(eq(modelVersion.chainId, chainId), isNotNull(modelVersion.currentFrom)))
    .orderBy(desc(modelVersion.currentFromBlock))
    .limit(limit);
  return rows.map((r) => ({ slug: r.slug, version: r.version, at: Math.floor(r.at!.getTime() / 1000), tx: r.tx ?? '' }));
});
