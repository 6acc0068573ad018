#!/usr/bin/env bash
# The test command: every test, with the race detector, against a
# throwaway PostgreSQL cluster started from Debian's binaries (installed
# first if missing). Set TEST_DATABASE_URL to use a server of your own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --browser
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
  exec go test -race -count=1 -timeout 30m "${@:-./...}"
fi
exec go run ./internal/pgcluster/cmd/pgcluster -test-tuning -set max_connections=300 -- \
  go test -race -count=1 -timeout 30m "${@:-./...}"
