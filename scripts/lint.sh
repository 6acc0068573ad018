#!/usr/bin/env bash
# gofmt, go vet, staticcheck, a validation of every help-desk configuration
# in configs/, and govulncheck (scripts/vulncheck.sh).
set -euo pipefail
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
# The gofmt of that release: the one on PATH belongs to the machine's Go.
gofmt="$(go env GOROOT)/bin/gofmt"
unformatted=$("$gofmt" -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
for f in configs/*.yaml; do
  [[ -f "$f" ]] || continue
  grep -q '^menu:' "$f" || continue   # only help-desk configurations
  go run ./cmd/ivrctl validate -config "$f"
done
# staticcheck, pinned: unused code, dead assignments, misused APIs (v0.6.1
# cannot read the export data of Go 1.27).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
# Known vulnerabilities that the code reaches, standard library included.
scripts/vulncheck.sh
