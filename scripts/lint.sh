#!/usr/bin/env bash
# gofmt, go vet, staticcheck and a validation of every help-desk
# configuration in configs/.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
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
# staticcheck, pinned: unused code, dead assignments, misused APIs.
go run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...
