#!/usr/bin/env bash
# Builds and runs every test. Tests read ../shared (or $NEEDLETAIL_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/boundaries.sh
swift build --build-tests
# Swift Testing prints a line when each test starts (◇); keep the verdicts, not the noise.
swift test --skip-build 2>&1 | tee .build/test-output.txt | grep -vE '^(◇|↳)'
