#!/usr/bin/env bash
# npm test: every suite — contracts (forge), unit + integration (vitest, real anvil / PGlite /
# PostgreSQL), browser stories (Debian Chromium via playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 FOUNDRY_DISABLE_NIGHTLY_WARNING=1
SECONDS=0

bash scripts/prereqs.sh

step() { printf '\n=== %s\n' "$*"; }
# each phase's end, printed last (the CI budget is 12 minutes for all of npm test)
times=()
phase_done() { times+=("$1 ${SECONDS}s"); }

# Under CI the `ci` profile: a fixed fuzz seed and a campaign sized to fit (foundry.toml); the long
# campaign is `npm run test:deep`. forge-test.sh prints the seed and checks contracts/snapshots
# (FORGE_SNAPSHOT_CHECK), so the gas check needs no second run of the suite.
if [ -n "${CI:-}" ]; then export FOUNDRY_PROFILE=ci; fi

# The static checks and the contracts are two single-threaded chains that don't touch each other:
# they run side by side (one per core), each into its own log, printed in order once both end.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
static_checks() {
  step "import directions (scripts/check-imports.mjs)"
  node scripts/check-imports.mjs
  step "lint and format"
  npm run --silent lint
  npm run --silent format:check
  step "typecheck"
  npx tsc --noEmit -p tsconfig.json
}
contracts() {
  step "contracts: build, ABI freshness, forge tests with named gas snapshots checked"
  # (scripts/foundry runs the native binary: the npm wrapper of forge always exits 0.)
  scripts/foundry forge build
  npm run --silent contracts:abi:check
  bash scripts/forge-test.sh
}
(set -e; static_checks) >"$logs/static" 2>&1 &
static_pid=$!
(set -e; contracts) >"$logs/contracts" 2>&1 &
contracts_pid=$!
static_rc=0 contracts_rc=0
wait $static_pid || static_rc=$?
wait $contracts_pid || contracts_rc=$?
cat "$logs/static" "$logs/contracts"
if [ $static_rc -ne 0 ] || [ $contracts_rc -ne 0 ]; then
  echo "npm test: $([ $static_rc -ne 0 ] && echo 'static checks failed ')$([ $contracts_rc -ne 0 ] && echo 'contracts failed')" >&2
  exit 1
fi

phase_done "static checks + contracts:"

step "unit + integration (vitest)"
npx vitest run
phase_done "vitest:"

step "browser stories (Chromium)"
npx vitest run --config vitest.e2e.config.ts
phase_done "browser stories:"
echo
echo "npm test passed in ${SECONDS}s (phases end at: ${times[*]})"
