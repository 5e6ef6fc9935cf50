#!/usr/bin/env bash
# The design's rules that a grep can check (DESIGN.md, "Hot-path rules"), run before the tests.
# Each rule names the files it covers; a hit prints the line and fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0

# Time comes from the time source: no clock is read directly in Engine, Strategies or Backtest
# (the one exception is the live time source itself) — a backtest runs on the data's time only.
if hits=$(grep -rnE 'cplat_now_ns|cplat_wall_(ns|ms)|clock_gettime|Date\(\)|ContinuousClock|SuspendingClock|DispatchTime' \
  Sources/Engine Sources/Strategies Sources/Backtest --include='*.swift' | grep -v '^Sources/Engine/TimeSource.swift:'); then
  echo "boundaries: a direct clock read in Engine, Strategies or Backtest (use the TimeSource):"
  echo "$hits"
  fail=1
fi

# No Foundation in Engine, Strategies or Backtest (Date, Decimal, JSONSerialization, String formatting).
if hits=$(grep -rn '^import Foundation' Sources/Engine Sources/Strategies Sources/Backtest --include='*.swift'); then
  echo "boundaries: Foundation imported in Engine, Strategies or Backtest:"
  echo "$hits"
  fail=1
fi

# The backtest is venue-neutral: a venue's capture reader writes its tape, the venue's sequence
# rule is a type parameter.
if hits=$(grep -rn 'Binance' Sources/Backtest --include='*.swift'); then
  echo "boundaries: a venue named in Sources/Backtest:"
  echo "$hits"
  fail=1
fi

if [ "$fail" = 0 ]; then echo "boundaries: ok"; fi
exit "$fail"
