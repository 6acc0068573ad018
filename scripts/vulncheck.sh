#!/usr/bin/env bash
# govulncheck, pinned, against an offline copy of the Go vulnerability
# database: fails (exit 3) when the code calls a function with a known
# vulnerability, in the standard library or in a module it requires.
# The database is built once from the OSV entries of the golang.org/x/vulndb
# module at a pinned version (fetched through the Go module proxy), and
# cached with govulncheck under ~/.cache/helpdesk-ivr, keyed by versions.
# Arguments go to govulncheck (default ./...); VULNCHECK_DB=dir uses a
# database of your own (the tests do).
set -euo pipefail
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
vulndb_version=v0.0.0-20261105234957-e22db6528018
govulncheck_version=v1.9.0
cache="${XDG_CACHE_HOME:-${HOME:?}/.cache}/helpdesk-ivr"

db=${VULNCHECK_DB:-}
if [[ -z "$db" ]]; then
  db="$cache/vulndb-$vulndb_version"
  if [[ ! -d "$db" ]]; then  # the builder renames a complete database into place
    go run ./internal/vulndb/cmd/vulndb -module "golang.org/x/vulndb@$vulndb_version" -out "$db"
  fi
fi
db=$(realpath "$db")

# Built by the release above: it type-checks code written for that Go.
bin="$cache/govulncheck-$govulncheck_version-$GOTOOLCHAIN"
if [[ ! -x "$bin/govulncheck" ]]; then
  GOBIN="$bin" GOFLAGS= go install "golang.org/x/vuln/cmd/govulncheck@$govulncheck_version"
fi
exec "$bin/govulncheck" -db "file://$db" "${@:-./...}"
