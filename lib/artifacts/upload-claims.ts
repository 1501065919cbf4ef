import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { rows, type AnyDb } from './catalog.ts';

// Quota reservations and concurrent-upload slots of uploads in flight, in the database (table
// upload_claim, db/schema/cluster.ts) rather than in one process's memory, so that N app servers on
// one PostgreSQL enforce one quota and one concurrency cap per account. Every check-and-claim and
// every release of an account runs under a transaction-scoped advisory lock on that account: a check
// sees each upload in flight as its claim or its recorded row (or both, briefly), never neither.
// A claim is a lease renewed by the process that holds it; a crashed server's claims lapse after
// LEASE_SECONDS instead of holding the account's quota for ever.

const LEASE_SECONDS = 60;
const RENEW_MS = 20_000;
const ACCOUNT_LOCK_NAMESPACE = 0x7571; // 'uq'

export type ClaimKind = 'quota' | 'slot';

export interface Claim {
  /** Deletes the claim (idempotent); resolves once other servers' checks no longer see it. */
  release(): Promise<void>;
}

/** Runs fn in a transaction holding the account's claim lock (across all servers on the database). */
async function underAccountLock<T>(db: AnyDb, account: string, fn: (tx: AnyDb) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ACCOUNT_LOCK_NAMESPACE}, hashtext(${account}))`);
    return fn(tx as unknown as AnyDb);
  });
}

export interface ClaimCheck {
  /** what the account already holds of this kind: bytes for quota, uploads for slots (live claims) */
  held: number;
}

export interface ClaimSpec<T extends { bytes: number }> {
  kind: ClaimKind;
  /** gets the live claims of `kind` (bytes for quota, count for slots); throws (the refusal) or returns the bytes to claim */
  decide: (tx: AnyDb, held: number) => Promise<T> | T;
}

/**
 * Under the account's lock: `decide` gets the live claims of `kind` (bytes, or count for slots) and
 * either throws (the refusal) or returns the bytes to claim (slots: ignored, one slot). Returns the
 * claim and what `decide` returned.
 */
export async function claim<T extends { bytes: number }>(
  db: AnyDb,
  accountAddress: string,
  kind: ClaimKind,
  decide: (tx: AnyDb, held: number) => Promise<T> | T,
): Promise<{ claim: Claim; decided: T }> {
  const { claim: c, decided } = await claimAll(db, accountAddress, [{ kind, decide }]);
  return { claim: c, decided: decided[0]! };
}

/**
 * Several claims of one account (an upload's slot and its quota reservation) in one transaction
 * under the account's lock, decided in the order given, released together: one database round of
 * statements per upload instead of one per kind (each transaction costs 40–100 ms of PGlite under
 * load). All or nothing: when one `decide` refuses, nothing is claimed.
 */
export async function claimAll<T extends { bytes: number }>(db: AnyDb, accountAddress: string, specs: ClaimSpec<T>[]): Promise<{ claim: Claim; decided: T[] }> {
  const account = accountAddress.toLowerCase();
  const ids = specs.map(() => crypto.randomUUID());
  const decided = await underAccountLock(db, account, async (tx) => {
    await tx.execute(sql`delete from upload_claim where account = ${account} and expires_at < now()`);
    const held = await rows<{ kind: string; bytes: string | number; n: string | number }>(
      tx,
      sql`select kind, coalesce(sum(bytes), 0) as bytes, count(*) as n from upload_claim where account = ${account} group by kind`,
    );
    const heldOf = (kind: ClaimKind) => {
      const r = held.find((h) => h.kind === kind);
      return Number((kind === 'quota' ? r?.bytes : r?.n) ?? 0);
    };
    const out: T[] = [];
    for (const spec of specs) out.push(await spec.decide(tx, heldOf(spec.kind)));
    const values = specs.map((spec, i) => sql`(${ids[i]}, ${account}, ${spec.kind}, ${out[i]!.bytes}, now() + make_interval(secs => ${LEASE_SECONDS}))`);
    await tx.execute(sql`insert into upload_claim (id, account, kind, bytes, expires_at) values ${sql.join(values, sql`, `)}`);
    return out;
  });
  const idList = sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  );
  const renew = setInterval(() => {
    db.execute(sql`update upload_claim set expires_at = now() + make_interval(secs => ${LEASE_SECONDS}) where id in (${idList})`).catch(() => {});
  }, RENEW_MS);
  renew.unref();
  let released: Promise<void> | null = null;
  return {
    decided,
    claim: {
      release() {
        clearInterval(renew);
        released ??= underAccountLock(db, account, async (tx) => {
          await tx.execute(sql`delete from upload_claim where id in (${idList})`);
        }).catch(() => {
          // the database is unreachable: the lease lapses by itself after LEASE_SECONDS
        });
        return released;
      },
    },
  };
}
