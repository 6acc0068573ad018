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
with_db=(go run ./internal/pgcluster/cmd/pgcluster -test-tuning -set max_connections=300 --)
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
  with_db=()
fi
if [[ $# -gt 0 ]]; then
  exec "${with_db[@]}" go test -race -count=1 -timeout 30m "$@"
fi
# The whole suite in two rounds. The call controller's tests (ivr, its
# simulator) run on a clock 40 times faster than real time: a stall of a
# few hundred milliseconds while Chromium or a real Asterisk of another
# package takes both cores becomes seconds of simulated time, and a
# simulated operator "does not answer". They run after the others, alone.
fast_clock=(./ivr ./ivr/arisim)
exec "${with_db[@]}" bash -c '
  status=0
  go test -race -count=1 -timeout 30m $(go list ./... | grep -v -x -e "$1/ivr" -e "$1/ivr/arisim") || status=1
  shift
  go test -race -count=1 -timeout 30m "$@" || status=1
  exit $status' fast-clock "$(go list -m)" "${fast_clock[@]}"
