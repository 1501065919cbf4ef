import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

// Resumable upload sessions on the S3 store (lib/artifacts/sessions.ts, S3SessionBytes): the bytes
// of a session are objects `<prefix>sessions/<id>/<start>-<uuid>` in the bucket, and this table says
// which object holds which span. The session's offset is the sum of its parts' lengths. A part is
// recorded only at the session's current offset (the primary key makes two servers writing the same
// span at once collide: one wins, the other's object is deleted and its PATCH answers 409), so every
// server sees the same offset and the same bytes.

export const uploadSessionPart = pgTable(
  'upload_session_part',
  {
    sessionId: text('session_id').notNull(),
    start: bigint('start', { mode: 'number' }).notNull(),
    length: bigint('length', { mode: 'number' }).notNull(),
    key: text('key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.start] })],
);
