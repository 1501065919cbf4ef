#!/usr/bin/env bash
# npm test: every suite — contracts (forge), unit + integration (vitest, real anvil / PGlite /
# PostgreSQL), browser stories (Debian Chromium via playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 FOUNDRY_DISABLE_NIGHTLY_WARNING=1

bash scripts/prereqs.sh

step() { printf '\n=== %s\n' "$*"; }

step "contracts: build, ABI freshness, gas snapshot, forge tests"
npx forge build
npm run --silent contracts:abi:check
npm run --silent contracts:snapshot:check
npx forge test ${CI:+--profile ci}

step "typecheck"
npx tsc --noEmit -p tsconfig.json

step "unit + integration (vitest)"
npx vitest run

step "browser stories (Chromium)"
npx vitest run --config vitest.e2e.config.ts
