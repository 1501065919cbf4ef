#!/usr/bin/env bash
# npm test: every suite — contracts (forge), unit + integration (vitest, real anvil / PGlite /
# PostgreSQL), browser stories (Debian Chromium via playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 FOUNDRY_DISABLE_NIGHTLY_WARNING=1

bash scripts/prereqs.sh

step() { printf '\n=== %s\n' "$*"; }

step "import directions (scripts/check-imports.mjs)"
node scripts/check-imports.mjs

step "lint and format"
npm run --silent lint
npm run --silent format:check

step "contracts: build, ABI freshness, forge tests with named gas snapshots checked"
# (scripts/foundry runs the native binary: the npm wrapper of forge always exits 0.)
scripts/foundry forge build
npm run --silent contracts:abi:check
# Under CI the `ci` profile: a fixed fuzz seed and a campaign sized to fit (foundry.toml); the long
# campaign is `npm run test:deep`. forge-test.sh prints the seed and checks contracts/snapshots
# (FORGE_SNAPSHOT_CHECK), so the gas check needs no second run of the suite.
if [ -n "${CI:-}" ]; then export FOUNDRY_PROFILE=ci; fi
bash scripts/forge-test.sh

step "typecheck"
npx tsc --noEmit -p tsconfig.json

step "unit + integration (vitest)"
npx vitest run

step "browser stories (Chromium)"
npx vitest run --config vitest.e2e.config.ts
