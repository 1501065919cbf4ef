import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { rows, type AnyDb } from '../artifacts/catalog.ts';
import type { PinningServiceConfig } from '../env.ts';
import { PinningClient, PinningServiceError, type PinStatus } from './pinning-client.ts';

// Remote pinning of approved versions (IPFS Pinning Service API 1.0). The remote_pin table
// (db/schema/pins.ts) is both the record and the work queue:
// - syncRemotePins (after every indexer advance): one row per configured service × (manifest + every
//   file) of every live version of a public model; a version revoked (or a model no longer public)
//   turns its rows to want = 'unpinned'. Idempotent: any number of app servers may run it.
// - RemotePinWorker: claims due rows with `FOR UPDATE SKIP LOCKED` and a lease, so each row has one
//   writer at a time across app servers sharing a PostgreSQL, and a killed server's rows are taken
//   over when its lease ends. The lease of a row in work is renewed (every third of PINNING_LEASE_MS)
//   until its calls return: a call slower than the lease (a loaded service, PINNING_TIMEOUT_MS above
//   the lease) does not hand the row to another server, which would send the POST a second time.
//   Before a POST /pins the row is marked 'sending' (committed, and only while this worker still
//   holds it; otherwise nothing is sent): after a crash the next attempt first looks the request up
//   by cid + name, so none is ever duplicated.
// - Calls that fail (unreachable, 401, 409, 5xx, timeout) are retried with exponential backoff and
//   jitter; after PINNING_MAX_FAILURES in a row the row is 'failed' with the reason. Queued/pinning
//   requests are polled with backoff until the service says pinned or failed; meanwhile the embedded
//   node dials the service's `delegates` (the spec's provider hints), best effort.

export interface RemotePinRow {
  id: number;
  service: string;
  chainId: number;
  modelId: string;
  slug: string;
  version: number;
  path: string;
  cid: string;
  sha256: string;
  name: string;
  want: 'pinned' | 'unpinned';
  state: string;
  requestId: string | null;
  failures: number;
  polls: number;
  lastError: string | null;
  nextAttemptAt: string;
  updatedAt: string;
}

function toRow(r: Record<string, unknown>): RemotePinRow {
  return {
    id: Number(r.id),
    service: String(r.service),
    chainId: Number(r.chain_id),
    modelId: String(r.model_id),
    slug: String(r.slug),
    version: Number(r.version),
    path: String(r.path),
    cid: String(r.cid),
    sha256: String(r.sha256),
    name: String(r.name),
    want: r.want as RemotePinRow['want'],
    state: String(r.state),
    requestId: (r.request_id as string | null) ?? null,
    failures: Number(r.failures),
    polls: Number(r.polls),
    lastError: (r.last_error as string | null) ?? null,
    nextAttemptAt: new Date(r.next_attempt_at as string).toISOString(),
    updatedAt: new Date(r.updated_at as string).toISOString(),
  };
}

/** `modeldao:<slug>@v<n>` for the manifest, `…/<path>` for a file (the spec allows 255 characters). */
export function pinName(slug: string, version: number, path: string): string {
  const name = `modeldao:${slug}@v${version}${path ? `/${path}` : ''}`;
  return name.length <= 255 ? name : `${name.slice(0, 238)}…${crypto.createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/**
 * Brings remote_pin in line with the index: rows for every (service, live public version, manifest
 * or file) that has none yet; want = 'unpinned' for rows whose version is revoked or no longer public.
 */
export async function syncRemotePins(db: AnyDb, chainId: number, services: string[]): Promise<void> {
  if (services.length === 0) return;
  const list = sql.join(
    services.map((s) => sql`(${s})`),
    sql`, `,
  );
  // The manifest (path '') and its files, of every live version of a public model.
  await db.execute(sql`
    with svc(name) as (values ${list}),
    live as (
      select v.chain_id, v.model_id, m.slug, v.version, v.manifest_digest
      from model_version v join model m on m.chain_id = v.chain_id and m.model_id = v.model_id
      where v.chain_id = ${chainId} and v.status <> 'Revoked' and m.access_kind = 'Public'),
    items as (
      select l.chain_id, l.model_id, l.slug, l.version, '' as path, b.cid, b.sha256
      from live l join blob b on b.sha256 = substr(l.manifest_digest, 3)
      union all
      select l.chain_id, l.model_id, l.slug, l.version, r.path, b.cid, b.sha256
      from live l join blob_ref r on r.manifest_digest = l.manifest_digest join blob b on b.sha256 = r.file_sha256)
    insert into remote_pin (service, chain_id, model_id, slug, version, path, cid, sha256, name)
    select svc.name, i.chain_id, i.model_id, i.slug, i.version, i.path, i.cid, i.sha256,
           'modeldao:' || i.slug || '@v' || i.version || case when i.path = '' then '' else '/' || i.path end
    from items i cross join svc
    on conflict (service, chain_id, model_id, version, path) do nothing`);
  // names longer than the spec's 255 characters are shortened the same way pinName does
  const long = await rows<{ id: number; slug: string; version: number; path: string }>(
    db,
    sql`select id, slug, version, path from remote_pin where length(name) > 255 and state = 'new'`,
  );
  for (const r of long) await db.execute(sql`update remote_pin set name = ${pinName(r.slug, r.version, r.path)} where id = ${r.id}`);
  await db.execute(sql`
    update remote_pin r set want = 'unpinned', failures = 0, polls = 0, next_attempt_at = now(), updated_at = now()
    where r.chain_id = ${chainId} and r.want = 'pinned' and not exists (
      select 1 from model_version v join model m on m.chain_id = v.chain_id and m.model_id = v.model_id
      where v.chain_id = r.chain_id and v.model_id = r.model_id and v.version = r.version
        and v.status <> 'Revoked' and m.access_kind = 'Public')`);
}

/** Every pin row of a model, for the API, the page and `modeldao status`. */
export async function pinsOfModel(db: AnyDb, chainId: number, slug: string): Promise<RemotePinRow[]> {
  const r = await rows<Record<string, unknown>>(
    db,
    sql`select * from remote_pin where chain_id = ${chainId} and slug = ${slug} order by version desc, service, path`,
  );
  return r.map(toRow);
}

export interface RemotePinWorkerOptions {
  db: AnyDb;
  chainId: number;
  registry: string;
  services: PinningServiceConfig[];
  /** the embedded node's announce multiaddrs (pin `origins`) */
  origins: () => string[];
  /** dial a service's `delegates` while it fetches (best effort; absent without an embedded node) */
  connect?: (delegates: string[]) => void;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxFailures: number;
  pollBaseMs: number;
  pollMaxMs: number;
  leaseMs: number;
  log?: (m: string) => void;
}

const ACTIVE = sql`((want = 'pinned' and state not in ('pinned', 'failed')) or (want = 'unpinned' and state <> 'unpinned'))`;

export class RemotePinWorker {
  private readonly owner = `${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  private readonly clients: Map<string, PinningClient>;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** ids of the rows this worker is working on (their leases are renewed) */
  private readonly held = new Set<number>();
  private renewTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RemotePinWorkerOptions) {
    this.clients = new Map(o.services.map((s) => [s.name, new PinningClient(s, o.timeoutMs)]));
  }

  start(): void {
    this.schedule(0);
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.o.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Extends the leases of the rows in work, so no other server takes them while a call is slow. */
  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const ids = sql.join(
      [...this.held].map((id) => sql`${id}`),
      sql`, `,
    );
    await this.o.db
      .execute(
        sql`update remote_pin set lease_until = now() + ${this.o.leaseMs} * interval '1 millisecond'
            where lease_owner = ${this.owner} and id in (${ids})`,
      )
      .catch((err: Error) => this.o.log?.(`remote pins: renewing leases: ${err.message}`));
  }

  /** Run a pass now (after the index moved). */
  poke(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass()
        .catch((err: Error) => this.o.log?.(`remote pins: ${err.message}`))
        .finally(() => {
          this.running = null;
          const again = this.again;
          this.again = false;
          this.schedule(again ? 0 : Math.min(1000, this.o.pollBaseMs));
        });
    }, ms);
  }

  private backoff(base: number, max: number, n: number, jitter: boolean): number {
    const d = Math.min(max, base * 2 ** Math.min(n, 30));
    return jitter ? Math.round(d * (0.75 + Math.random() * 0.5)) : d;
  }

  /** Claims up to `limit` due rows of the configured services for this worker (lease). */
  private async claim(limit: number): Promise<RemotePinRow[]> {
    const names = sql.join(
      [...this.clients.keys()].map((s) => sql`${s}`),
      sql`, `,
    );
    const r = await rows<Record<string, unknown>>(
      this.o.db,
      sql`update remote_pin set lease_owner = ${this.owner}, lease_until = now() + ${this.o.leaseMs} * interval '1 millisecond'
          where id in (
            select id from remote_pin
            where chain_id = ${this.o.chainId} and service in (${names}) and next_attempt_at <= now() and ${ACTIVE}
              and failures < ${this.o.maxFailures} and (lease_until is null or lease_until < now())
            order by next_attempt_at, id limit ${limit}
            for update skip locked)
          returning *`,
    );
    return r.map(toRow);
  }

  /** Updates the row if this worker still holds its lease; false when it no longer does. */
  private async save(id: number, set: Record<string, unknown>, release = true): Promise<boolean> {
    const parts = Object.entries(set).map(([k, v]) =>
      k === 'next_attempt_in_ms' ? sql`next_attempt_at = now() + ${v} * interval '1 millisecond'` : sql`${sql.identifier(k)} = ${v}`,
    );
    if (release) parts.push(sql`lease_owner = null`, sql`lease_until = null`);
    parts.push(sql`updated_at = now()`);
    // fenced by the lease: a worker whose lease ran out (and was taken over) changes nothing
    const updated = await rows<{ id: number }>(
      this.o.db,
      sql`update remote_pin set ${sql.join(parts, sql`, `)} where id = ${id} and lease_owner = ${this.owner} returning id`,
    );
    return updated.length > 0;
  }

  private async pass(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const claimed = await this.claim(16);
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((row) => this.work(row)));
    }
  }

  private meta(row: RemotePinRow): Record<string, string> {
    return {
      chainId: String(row.chainId),
      registry: this.o.registry,
      modelId: row.modelId,
      version: String(row.version),
      sha256: row.sha256,
    };
  }

  private adopt(row: RemotePinRow, ps: PinStatus): Record<string, unknown> {
    const done = ps.status === 'pinned' || ps.status === 'failed';
    // Provider hints: while the service fetches, our node connects to its delegates, so the transfer
    // does not depend on the service reaching our origins. After a restart this is what resumes a
    // fetch the service started from our previous process (its want list goes to the new connection).
    if (!done && Array.isArray(ps.delegates) && ps.delegates.length > 0) this.o.connect?.(ps.delegates);
    return {
      request_id: ps.requestid,
      state: ps.status,
      failures: 0,
      polls: done ? 0 : row.polls + 1,
      last_error: ps.status === 'failed' ? `the service reported failed${ps.info ? `: ${JSON.stringify(ps.info).slice(0, 200)}` : ''}` : null,
      next_attempt_in_ms: done ? 0 : this.backoff(this.o.pollBaseMs, this.o.pollMaxMs, row.polls, false),
    };
  }

  /**
   * The service gave up on a request (e.g. our node was down while it fetched): that counts as a
   * failed attempt. The failed request is removed and, below the limit, a new one sent after backoff.
   */
  private async remoteFailed(row: RemotePinRow, client: PinningClient, ps: PinStatus): Promise<void> {
    const reason = `the service reported failed${ps.info ? `: ${JSON.stringify(ps.info).slice(0, 200)}` : ''}`;
    const failures = row.failures + 1;
    if (failures >= this.o.maxFailures) {
      await this.save(row.id, { request_id: ps.requestid, state: 'failed', failures, last_error: `${failures} attempts failed; last: ${reason}` });
      return;
    }
    await client.remove(ps.requestid);
    await this.save(row.id, {
      request_id: null,
      state: 'new',
      failures,
      polls: 0,
      last_error: reason,
      next_attempt_in_ms: this.backoff(this.o.retryBaseMs, this.o.retryMaxMs, failures - 1, true),
    });
  }

  private async work(row: RemotePinRow): Promise<void> {
    this.held.add(row.id);
    try {
      await this.workHeld(row);
    } finally {
      this.held.delete(row.id);
    }
  }

  private async workHeld(row: RemotePinRow): Promise<void> {
    const client = this.clients.get(row.service)!;
    try {
      if (row.want === 'pinned') {
        let ps: PinStatus | null = null;
        if (!row.requestId) {
          if (row.state === 'sending') ps = await client.find(row.cid, row.name);
          if (!ps) {
            // another server took the row over (this one stalled past its lease): it sends, not we
            if (!(await this.save(row.id, { state: 'sending' }, false))) return;
            ps = await client.add({ cid: row.cid, name: row.name, origins: this.o.origins(), meta: this.meta(row) });
            row = { ...row, polls: 0 };
          }
        } else {
          ps = await client.get(row.requestId);
          if (!ps) {
            await this.save(row.id, {
              request_id: null,
              state: 'new',
              polls: 0,
              next_attempt_in_ms: 0,
              last_error: 'the service forgot the request; sending it again',
            });
            return;
          }
        }
        if (ps.status === 'failed') return await this.remoteFailed(row, client, ps);
        // a success resets the failure count only once the service has the pin
        await this.save(row.id, { ...this.adopt(row, ps), failures: ps.status === 'pinned' ? 0 : row.failures });
        return;
      }
      let requestId = row.requestId;
      if (!requestId && (row.state === 'sending' || row.state === 'failed')) requestId = (await client.find(row.cid, row.name))?.requestid ?? null;
      if (requestId) {
        if (!(await this.save(row.id, { state: 'unpinning' }, false))) return;
        await client.remove(requestId);
      }
      await this.save(row.id, { state: 'unpinned', failures: 0, last_error: null });
    } catch (err) {
      const reason = err instanceof PinningServiceError ? err.message : `unexpected: ${(err as Error).message}`.slice(0, 300);
      const failures = row.failures + 1;
      if (failures >= this.o.maxFailures) {
        this.o.log?.(`remote pins: ${row.service}: ${row.name}: giving up after ${failures} failed attempts: ${reason}`);
        await this.save(row.id, { failures, state: 'failed', last_error: `${failures} attempts failed; last: ${reason}` }).catch(() => {});
        return;
      }
      await this.save(row.id, {
        failures,
        last_error: reason,
        next_attempt_in_ms: this.backoff(this.o.retryBaseMs, this.o.retryMaxMs, failures - 1, true),
      }).catch(() => {});
    }
  }
}

export interface PinsView {
  slug: string;
  /** pinning services configured on this server (names only) */
  services: string[];
  versions: {
    version: number;
    pins: {
      service: string;
      /** '' for the manifest */
      path: string;
      cid: string;
      name: string;
      /** desired: pinned while the version is live and public, unpinned once revoked */
      want: 'pinned' | 'unpinned';
      /** new | sending | queued | pinning | pinned | failed | unpinning | unpinned */
      state: string;
      requestId: string | null;
      error: string | null;
      updatedAt: string;
    }[];
  }[];
}

export function pinsView(slug: string, services: string[], list: RemotePinRow[]): PinsView {
  const byVersion = new Map<number, PinsView['versions'][number]>();
  for (const r of list) {
    let v = byVersion.get(r.version);
    if (!v) byVersion.set(r.version, (v = { version: r.version, pins: [] }));
    v.pins.push({
      service: r.service,
      path: r.path,
      cid: r.cid,
      name: r.name,
      want: r.want,
      state: r.state,
      requestId: r.requestId,
      error: r.lastError,
      updatedAt: r.updatedAt,
    });
  }
  return { slug, services, versions: [...byVersion.values()] };
}
