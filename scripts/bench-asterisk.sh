#!/usr/bin/env bash
# The load benchmark on a real Asterisk (issue 15; not part of make test):
# sipp callers at increasing call rates against (a) a plain dialplan IVR
# of the same call shape and (b) the real ivrd with the shipped Giustizia
# menu, its queues and a ticket per call in a throwaway PostgreSQL, with
# sipp operator phones that answer and hang up after a hold time. Prints,
# for each, the highest rate with no failed call and a call set-up p99
# under 200 ms, the channels then, CPU-seconds per 1,000 calls of ivrd,
# Asterisk and PostgreSQL, ivrd's peak RSS, and whether every ivrd call
# has its record and ticket. See internal/asteriskbench.
#
# Settings (environment): BENCH_RATES (calls/s, one step each, default
# 10,20,...,120), BENCH_SECONDS (of calls per step, default 20),
# BENCH_HOLD (operator's talk time, default 3s), BENCH_OPERATORS (default
# 600), BENCH_MODES (default dialplan,ivrd), BENCH_PROFILE=DIR (ivrd CPU
# profiles of each step). BENCH_SMOKE=1: one short step at 2 calls/s.
# Run it on a quiet machine: check `uptime` first.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
scripts/install-asterisk.sh
scripts/install-deps.sh
if [[ "${BENCH_SMOKE:-}" == 1 ]]; then
  export BENCH_RATES=2 BENCH_SECONDS=3 BENCH_OPERATORS=20
fi
if [[ -n "${BENCH_PROFILE:-}" ]]; then
  mkdir -p "${BENCH_PROFILE}"
  BENCH_PROFILE="$(cd "${BENCH_PROFILE}" && pwd)"
  export BENCH_PROFILE
fi
echo "load before the run: $(uptime)"
go test -run '^$' -bench '^BenchmarkAsteriskLoad$' -benchtime 1x -timeout 90m ./internal/asteriskbench/
echo "load after the run: $(uptime)"
