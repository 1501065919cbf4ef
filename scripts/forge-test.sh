#!/usr/bin/env bash
# `forge test` with a known fuzz seed, printed first, so any fuzz or invariant failure can be replayed.
# The seed is FOUNDRY_FUZZ_SEED when set, else the profile's fixed seed (the `ci` profile has one, see
# foundry.toml), else a fresh random one. Gas snapshots (contracts/snapshots) are checked, not rewritten.
#   scripts/forge-test.sh [forge test args…]            # default profile, random seed
#   FOUNDRY_PROFILE=ci scripts/forge-test.sh            # what CI runs (fixed seed)
#   FOUNDRY_PROFILE=deep scripts/forge-test.sh          # npm run test:deep
#   FOUNDRY_PROFILE=ci FOUNDRY_FUZZ_SEED=0x… scripts/forge-test.sh --match-test <name>   # replay
set -euo pipefail
cd "$(dirname "$0")/.."
export FOUNDRY_DISABLE_NIGHTLY_WARNING=1
profile="${FOUNDRY_PROFILE:-default}"
if [ -z "${FOUNDRY_FUZZ_SEED:-}" ]; then
  FOUNDRY_FUZZ_SEED=$(scripts/foundry forge config --json | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).fuzz?.seed ?? ""))')
  if [ -z "$FOUNDRY_FUZZ_SEED" ]; then FOUNDRY_FUZZ_SEED="0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"; fi
fi
export FOUNDRY_FUZZ_SEED
export FORGE_SNAPSHOT_CHECK="${FORGE_SNAPSHOT_CHECK:-true}"
echo "forge test: profile $profile, fuzz seed $FOUNDRY_FUZZ_SEED"
status=0
scripts/foundry forge test "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "forge test failed (profile $profile, fuzz seed $FOUNDRY_FUZZ_SEED). Replay exactly:" >&2
  echo "  FOUNDRY_PROFILE=$profile FOUNDRY_FUZZ_SEED=$FOUNDRY_FUZZ_SEED scripts/forge-test.sh --match-test <failing test> -vvvv" >&2
  echo "then turn the counterexample into a unit test (README, \"Tests\": a failing seed becomes a regression test)." >&2
fi
exit "$status"
