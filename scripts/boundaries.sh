#!/usr/bin/env bash
# The design's rules that a grep can check (DESIGN.md, "Hot-path rules"), run before the tests.
# Each rule names the files it covers; a hit prints the line and fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0

# Time comes from the time source: no clock is read directly in Engine or Strategies (the one
# exception is the live time source itself).
if hits=$(grep -rnE 'cplat_now_ns|cplat_wall_(ns|ms)|clock_gettime|Date\(\)|ContinuousClock|SuspendingClock|DispatchTime' \
  Sources/Engine Sources/Strategies --include='*.swift' | grep -v '^Sources/Engine/TimeSource.swift:'); then
  echo "boundaries: a direct clock read in Engine or Strategies (use the TimeSource):"
  echo "$hits"
  fail=1
fi

# No Foundation in Engine or Strategies (Date, Decimal, JSONSerialization, String formatting).
if hits=$(grep -rn '^import Foundation' Sources/Engine Sources/Strategies --include='*.swift'); then
  echo "boundaries: Foundation imported in Engine or Strategies:"
  echo "$hits"
  fail=1
fi

if [ "$fail" = 0 ]; then echo "boundaries: ok"; fi
exit "$fail"
