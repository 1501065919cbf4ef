import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` (under `flock /tmp/drizzle.lock`) writes a migration for schema changes;
// db/client.ts applies the committed migrations when a database is opened.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/*.ts',
  out: './db/migrations',
});
