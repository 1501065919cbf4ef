import { defineConfig } from 'vitest/config';

// Browser stories (tests/e2e): Debian Chromium driven by playwright-core against the full local
// stack (anvil + deploy + seed + server), started once for all stories by the global setup — or an
// already running stack when E2E_BASE_URL is set. Stories share one chain, so they run in order.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    globalSetup: ['tests/e2e/support/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    sequence: { shuffle: false },
    reporters: ['default'],
  },
});
