import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './tests/helpers/sequencer.ts';

export default defineConfig({
  // the app's `@/…` imports (tsconfig paths), so modules shared with the app load in tests too
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // bundles the server and indexer entry points that tests spawn (tests/helpers/entry-bundles.ts)
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    // longest files first (tests/durations.json), so both forks stay busy to the end
    sequence: { sequencer: LongestFirstSequencer },
  },
});
