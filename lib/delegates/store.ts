import { and, desc, eq, sql } from 'drizzle-orm';
import { getAddress, type Address, type Hex } from 'viem';
import type { Db } from '../../db/client.ts';
import { delegateStatement } from '../../db/schema/delegates.ts';
import { delegateStatementTypes, statementDomain, type DelegateStatement, type StoredStatementJson } from './statement.ts';

// Delegate statements in the database: the latest signed statement per (chain, governor, delegate).
// Used by the plain server's /api/delegates and by the pages (not server-only: both import it).

type Row = typeof delegateStatement.$inferSelect;

function toJson(r: Row): StoredStatementJson {
  return {
    statement: {
      delegate: r.delegate,
      name: r.name,
      statement: r.statement,
      links: r.links,
      models: r.models,
      issuedAt: String(r.issuedAt),
      expiry: String(r.expiry),
    },
    signature: r.signature as Hex,
    domain: statementDomain(r.chainId, getAddress(r.governor)),
    primaryType: 'DelegateStatement',
    types: delegateStatementTypes,
    updatedAt: r.updatedAt.toISOString(),
  };
}

/**
 * Stores `s` (its signature already verified) unless a statement with the same or a later issuedAt is
 * stored: one statement, so two concurrent edits cannot both win. Returns the stored row, or null when
 * the stored statement is as new or newer.
 */
export async function putStatement(db: Db, chainId: number, governor: Address, s: DelegateStatement, signature: Hex): Promise<StoredStatementJson | null> {
  const row = {
    chainId,
    governor: governor.toLowerCase(),
    delegate: s.delegate.toLowerCase(),
    name: s.name,
    statement: s.statement,
    links: s.links,
    models: s.models,
    issuedAt: Number(s.issuedAt),
    expiry: Number(s.expiry),
    signature,
    updatedAt: new Date(),
  };
  const out = await db
    .insert(delegateStatement)
    .values(row)
    .onConflictDoUpdate({
      target: [delegateStatement.chainId, delegateStatement.governor, delegateStatement.delegate],
      set: {
        name: row.name,
        statement: row.statement,
        links: row.links,
        models: row.models,
        issuedAt: row.issuedAt,
        expiry: row.expiry,
        signature: row.signature,
        updatedAt: row.updatedAt,
      },
      setWhere: sql`${delegateStatement.issuedAt} < excluded.issued_at`,
    })
    .returning();
  return out[0] ? toJson(out[0]) : null;
}

export async function getStatement(db: Db, chainId: number, governor: Address, delegate: string): Promise<StoredStatementJson | null> {
  const [r] = await db
    .select()
    .from(delegateStatement)
    .where(
      and(
        eq(delegateStatement.chainId, chainId),
        eq(delegateStatement.governor, governor.toLowerCase()),
        eq(delegateStatement.delegate, delegate.toLowerCase()),
      ),
    );
  return r ? toJson(r) : null;
}

/** Statements, most recently updated first. */
export async function listStatements(db: Db, chainId: number, governor: Address, limit = 100, offset = 0): Promise<StoredStatementJson[]> {
  const rows = await db
    .select()
    .from(delegateStatement)
    .where(and(eq(delegateStatement.chainId, chainId), eq(delegateStatement.governor, governor.toLowerCase())))
    .orderBy(desc(delegateStatement.updatedAt))
    .limit(limit)
    .offset(offset);
  return rows.map(toJson);
}
