// `npm run gc` — lists the blobs garbage collection would delete (unpinned, past their expiry, not
// listed by a live manifest — one still in its TTL or named by a proposal that may yet execute; plus store files with no database row, older than the TTL).
// Expired resumable upload sessions are listed and deleted the same way.
// `npm run gc -- --delete` deletes them. Pinned blobs (published versions, revoked included) are
// never collected. With embedded PGlite, stop the server first (one process per data dir).
import { getEnv } from '../lib/env.ts';
import { openDatabase } from '../db/client.ts';
import { closeArtifactStore, openArtifactStore } from '../lib/artifacts/open-store.ts';
import { gcDelete, gcPlan, syncPins } from '../lib/artifacts/catalog.ts';
import { sweepSessions } from '../lib/artifacts/sessions.ts';

const doDelete = process.argv.includes('--delete');
const env = getEnv();
const database = await openDatabase(env);
let store: Awaited<ReturnType<typeof openArtifactStore>> | undefined;
try {
  store = await openArtifactStore(env);
  // whatever the index knows to be published is pinned before anything is planned
  await syncPins(database.db);
  const plan = await gcPlan(database.db, store, { ttlSeconds: env.UPLOAD_TTL_SECONDS });
  const bytes = plan.reduce((s, c) => s + c.size, 0);
  for (const c of plan) {
    console.log(
      `${doDelete ? 'delete' : 'would delete'} ${c.sha256} ${c.size} B ${c.kind} (${c.reason}${c.expiresAt ? `, expired ${c.expiresAt.toISOString()}` : ''})`,
    );
  }
  if (doDelete) {
    const n = await gcDelete(database.db, store, plan);
    console.log(`deleted ${n} blob(s), ${bytes} bytes`);
  } else {
    console.log(`${plan.length} blob(s), ${bytes} bytes would be deleted (dry run; pass --delete to delete)`);
  }
  // resumable upload sessions past their expiry (and session files without a session)
  const sessions = await sweepSessions(database.db, store, { dryRun: !doDelete });
  for (const s of sessions) console.log(`${doDelete ? 'delete' : 'would delete'} upload session ${s.id} ${s.bytes} B (${s.reason})`);
  if (sessions.length > 0)
    console.log(`${sessions.length} upload session(s), ${sessions.reduce((n, s) => n + s.bytes, 0)} bytes ${doDelete ? 'deleted' : 'would be deleted'}`);
} finally {
  await database.close();
  if (store) closeArtifactStore(store);
}
