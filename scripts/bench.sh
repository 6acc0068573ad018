#!/usr/bin/env bash
# The benchmarks whose figures are in the README, each against a
# throwaway PostgreSQL (fsync off). Run on a quiet machine: the figures
# are latencies. BENCH=name runs one: load, tickets, queues, panel;
# BENCH=asterisk runs scripts/bench-asterisk.sh (a real Asterisk, about
# 15 minutes; never part of the whole set).
set -euo pipefail
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
scripts/install-deps.sh
pg() { go run ./internal/pgcluster/cmd/pgcluster -test-tuning -set max_connections=300 -- "$@"; }
want() { [[ -z "${BENCH:-}" || "${BENCH}" == "$1" ]]; }
if want load; then
  go build -o bin/ ./cmd/...
  bin/ivrctl load -config configs/helpdesk.yaml -calls 7000 -rate 250 -hold 20s
fi
if want tickets; then
  pg go test -run='^$' -bench='OpenCall|CallLifecycle' -benchtime=10000x -count=2 ./tickets/
  pg go test -run='^$' -bench=Large -benchtime=200x -timeout=30m ./tickets/
fi
if want queues; then
  pg go test -run='^$' -bench=OfferLatency -benchtime=2000x -count=2 ./queues/
fi
if want panel; then
  pg go test -run='^$' -bench=WallboardFanout200 -benchtime=20x ./panel/
  pg go test -run='^$' -bench=TicketListPage -benchtime=200x -timeout=30m ./panel/
fi
if [[ "${BENCH:-}" == asterisk ]]; then
  scripts/bench-asterisk.sh
fi
