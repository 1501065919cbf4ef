// ESLint (flat config): Next's rules (core web vitals) plus typescript-eslint's recommended set, which
// eslint-config-next/typescript brings. `npm run lint` runs it; scripts/test.sh runs it in `npm test`.
// A rule is turned off or down only here, each with its reason.
import { defineConfig, globalIgnores } from 'eslint/config';
import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    // React Compiler rule (react-hooks 7): three effects reset per-account state when the connected
    // account changes (useDaoTx, the vote controls) or detect the injected wallet after mount; each
    // wants a restructuring (state keyed by account, useSyncExternalStore) that the typed-writes and
    // proposal-form work on #17 is reshaping. Warn until then, so no new case goes unseen.
    files: ['app/**/*.tsx', 'lib/web/**/*.ts', 'lib/web/**/*.tsx'],
    rules: { 'react-hooks/set-state-in-effect': 'warn' },
  },
  {
    // CommonJS files: require() is their module system.
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests and benchmarks read untyped JSON (database rows, API bodies, RPC results) and assert on
    // it; typing every fixture would add casts, not safety.
    files: ['tests/**', 'scripts/bench-*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Rows and decoded event arguments: these files are being rewritten on #17's indexer and
    // typed-contract-calls branches (arguments typed from the generated ABIs); remove this then.
    files: ['lib/indexer/reducer.ts', 'lib/indexer/tables.ts', 'lib/web/actions.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  globalIgnores([
    '.next/**',
    '.modeldao/**',
    'contracts/out/**',
    'contracts/cache/**',
    'db/migrations/**',
    'lib/contracts/generated.ts', // written by `npm run contracts:abi`
    'next-env.d.ts',
  ]),
]);
