#!/usr/bin/env bash
# Builds and runs every test. Tests read ../shared (or $NEEDLETAIL_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build --parallel 2>&1 | tee .build/test-output.txt | grep -vE '^(◇|↳)' || true
# swift test's own exit status is lost in the pipe; read its verdict.
if grep -qE 'Test run with [0-9]+ tests? .* failed|error: |Fatal error|Exited with (signal|unexpected)' .build/test-output.txt; then
  echo "TESTS FAILED"
  exit 1
fi
grep -qE 'Test run with [0-9]+ tests? .* passed' .build/test-output.txt || { echo "no test verdict found"; exit 1; }
