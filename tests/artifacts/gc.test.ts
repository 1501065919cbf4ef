import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/client.ts';
import { LocalArtifactStore } from '../../lib/artifacts/store.ts';
import { gcDelete, gcPlan, recordManifest, recordUpload, syncPins } from '../../lib/artifacts/catalog.ts';

let dir: string;
let store: LocalArtifactStore;
let database: Database;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-gc-'));
  store = await LocalArtifactStore.open(dir);
  database = await openDatabase({ pgliteDir: '' }, { inMemory: true });
});
afterEach(async () => {
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function put(ttlSeconds: number, bytes = randomBytes(1000)) {
  const r = await store.put(Readable.from([bytes]));
  await recordUpload(database.db, { ...r, kind: 'file', account: '0xabc', ttlSeconds });
  return r.sha256;
}

const later = (s: number) => new Date(Date.now() + s * 1000);

describe('garbage collection', () => {
  it('collects expired unpinned uploads, never pinned ones or files of a live manifest', async () => {
    const expired = await put(60);
    const fresh = await put(3600 * 24);
    const pinnedSha = await put(60);
    const listed = await put(60);
    // a manifest (alive for a day) lists `listed`; a published version lists `pinnedSha`
    const manifestSha = await put(3600 * 24, Buffer.from('{"m":1}'));
    await recordManifest(database.db, {
      digest: `0x${manifestSha}`,
      model: 'm',
      parent: null,
      canonical: '{}',
      submittedBy: null,
      files: [{ path: 'a', sha256: listed, size: 1000 }],
      ttlSeconds: 60,
    });
    const pubManifest = await put(60, Buffer.from('{"m":2}'));
    await recordManifest(database.db, {
      digest: `0x${pubManifest}`,
      model: 'm',
      parent: null,
      canonical: '{}',
      submittedBy: null,
      files: [{ path: 'a', sha256: pinnedSha, size: 1000 }],
      ttlSeconds: 60,
    });
    await database.db
      .execute(sql`insert into model_version (chain_id, model_id, version, manifest_digest, parent_version, published_at, published_block, published_tx, status)
      values (31337, 1, 1, ${'0x' + pubManifest}, 0, now(), 1, '0x1', 'Revoked')`);
    expect((await syncPins(database.db, 31337)).pinned).toBe(2);

    // an hour and a bit later
    const plan = await gcPlan(database.db, store, { ttlSeconds: 60, now: later(3700) });
    expect(plan.map((c) => c.sha256)).toEqual([expired]);
    expect(await store.has(expired)).toBe(true); // dry run deletes nothing

    await database.db.execute(sql`update blob set expires_at = now() - interval '1 second' where sha256 = ${expired}`);
    const n = await gcDelete(database.db, store, await gcPlan(database.db, store, { ttlSeconds: 60 }));
    expect(n).toBe(1);
    expect(await store.has(expired)).toBe(false);
    for (const kept of [fresh, pinnedSha, listed, manifestSha, pubManifest]) expect(await store.has(kept)).toBe(true);
  });

  it('keeps the weights of a proposal that may still execute, past their TTL, and frees them once it is defeated', async () => {
    const file = await put(60);
    const manifestSha = await put(60, Buffer.from('{"m":3}'));
    await recordManifest(database.db, {
      digest: `0x${manifestSha}`,
      model: 'm',
      parent: null,
      canonical: '{}',
      submittedBy: null,
      files: [{ path: 'a', sha256: file, size: 1000 }],
      ttlSeconds: 60,
    });
    // publishVersion(modelId, digest, parent) calldata names the digest; voting ends in a week
    const calldata = `0x12345678${'0'.repeat(63)}1${manifestSha}${'0'.repeat(64)}`;
    await database.db
      .execute(sql`insert into proposal (chain_id, proposal_id, proposer, targets, "values", calldatas, signatures, description, description_hash,
        vote_start, vote_end, for_votes, against_votes, abstain_votes, vote_count, created_block, created_at, created_tx)
      values (31337, 7, '0xabc', '["0x1"]'::jsonb, '["0"]'::jsonb, ${JSON.stringify([calldata])}::jsonb, '[""]'::jsonb, 'publish', '0x0',
        now(), now() + interval '7 days', 0, 0, 0, 0, 1, now(), '0x1')`);
    // two days on: the uploads' TTL is long gone, the vote is still open
    expect(await gcPlan(database.db, store, { ttlSeconds: 60, now: later(2 * 86400) })).toEqual([]);
    // past the deadline with more For than Against (Succeeded, may be queued any time): still kept
    await database.db.execute(sql`update proposal set for_votes = 10 where proposal_id = 7`);
    expect(await gcPlan(database.db, store, { ttlSeconds: 60, now: later(8 * 86400) })).toEqual([]);
    // defeated: both become collectable
    await database.db.execute(sql`update proposal set against_votes = 20 where proposal_id = 7`);
    const plan = await gcPlan(database.db, store, { ttlSeconds: 60, now: later(8 * 86400) });
    expect(plan.map((c) => c.sha256).sort()).toEqual([file, manifestSha].sort());
  });

  it('collects store files that have no database row once older than the TTL', async () => {
    const r = await store.put(Readable.from([randomBytes(10)]));
    expect(await gcPlan(database.db, store, { ttlSeconds: 3600 })).toEqual([]);
    const plan = await gcPlan(database.db, store, { ttlSeconds: 3600, now: later(7200) });
    expect(plan).toMatchObject([{ sha256: r.sha256, reason: 'untracked' }]);
  });
});
