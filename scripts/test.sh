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

step "contracts: build, ABI freshness, gas snapshot, forge tests"
# (scripts/foundry runs the native binary: the npm wrapper of forge always exits 0.)
scripts/foundry forge build
npm run --silent contracts:abi:check
npm run --silent contracts:snapshot:check
# Under CI the `ci` profile raises fuzz and invariant runs to 1000.
if [ -n "${CI:-}" ]; then export FOUNDRY_PROFILE=ci; fi
scripts/foundry forge test

step "typecheck"
npx tsc --noEmit -p tsconfig.json

step "unit + integration (vitest)"
npx vitest run

step "browser stories (Chromium)"
npx vitest run --config vitest.e2e.config.ts
