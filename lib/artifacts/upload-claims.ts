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
  const account = accountAddress.toLowerCase();
  const id = crypto.randomUUID();
  const decided = await underAccountLock(db, account, async (tx) => {
    await tx.execute(sql`delete from upload_claim where account = ${account} and expires_at < now()`);
    const [r] = await rows<{ held: string | number }>(
      tx,
      kind === 'quota'
        ? sql`select coalesce(sum(bytes), 0) as held from upload_claim where account = ${account} and kind = 'quota'`
        : sql`select count(*) as held from upload_claim where account = ${account} and kind = 'slot'`,
    );
    const d = await decide(tx, Number(r?.held ?? 0));
    await tx.execute(
      sql`insert into upload_claim (id, account, kind, bytes, expires_at) values (${id}, ${account}, ${kind}, ${d.bytes}, now() + make_interval(secs => ${LEASE_SECONDS}))`,
    );
    return d;
  });
  const renew = setInterval(() => {
    db.execute(sql`update upload_claim set expires_at = now() + make_interval(secs => ${LEASE_SECONDS}) where id = ${id}`).catch(() => {});
  }, RENEW_MS);
  renew.unref();
  let released: Promise<void> | null = null;
  return {
    decided,
    claim: {
      release() {
        clearInterval(renew);
        released ??= underAccountLock(db, account, async (tx) => {
          await tx.execute(sql`delete from upload_claim where id = ${id}`);
        }).catch(() => {
          // the database is unreachable: the lease lapses by itself after LEASE_SECONDS
        });
        return released;
      },
    },
  };
}
