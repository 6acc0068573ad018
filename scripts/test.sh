#!/usr/bin/env bash
# The test command: every test, with the race detector, against a
# throwaway PostgreSQL cluster started from Debian's binaries (installed
# first if missing). Set TEST_DATABASE_URL to use a server of your own.
set -euo pipefail
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
scripts/install-deps.sh --browser
# A real Asterisk for the tests that drive one (internal/realasterisk,
# interop, sipsecurity): built once from the sources beside the checkout,
# ASTERISK_SRC_DIR or the release tarball, and cached. Without it the test
# command fails: a suite is never skipped without being asked.
# IVR_SKIP_ASTERISK=1 opts out (those tests then skip, saying so).
if [[ -z "${IVR_SKIP_ASTERISK:-}" ]] && ! scripts/install-asterisk.sh >/dev/null; then
  echo "test: ASTERISK NOT BUILT (see above). Put the sources in ASTERISK_SRC_DIR" \
    "(scripts/install-asterisk.sh says which files), or run with IVR_SKIP_ASTERISK=1" \
    "to skip the real-Asterisk tests." >&2
  exit 1
fi
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
  exec go test -race -count=1 -timeout 30m "${@:-./...}"
fi
exec go run ./internal/pgcluster/cmd/pgcluster -test-tuning -set max_connections=300 -- \
  go test -race -count=1 -timeout 30m "${@:-./...}"
