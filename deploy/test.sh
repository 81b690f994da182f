#!/usr/bin/env bash
# `npm test`: setup, type check, the tap suite, then the leftovers check. Ends with one line
# "tests: N passed, N failed" and a non-zero exit code when anything failed or was left behind.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash deploy/setup.sh || exit 1
echo "typecheck: tsc --noEmit"
npm run --silent typecheck || { echo "tests: 0 passed, 1 failed (type check)"; exit 1; }

work=$(mktemp -d /tmp/tss-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
node dist/test/leftovers/main.js snapshot "$work/before.json" || exit 1

npx tap "$@" 2>&1 | tee "$work/tap.log"
tap_rc=${PIPESTATUS[0]}

node dist/test/leftovers/main.js check "$work/before.json"
left_rc=$?

# Top-level results, one per test file: "ok N - file" / "not ok N - file".
passed=$(grep -cE '^ok [0-9]+ - ' "$work/tap.log" || true)
failed=$(grep -cE '^not ok [0-9]+ - ' "$work/tap.log" || true)
[ "$left_rc" -eq 0 ] || failed=$((failed + 1))
[ "$tap_rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "tests: $passed passed, $failed failed"
[ "$tap_rc" -eq 0 ] && [ "$left_rc" -eq 0 ]
