#!/usr/bin/env bash
# Installs what the tests and the demo need from Debian's packages, when it
# is missing: PostgreSQL's server binaries, espeak-ng and sox (prompt
# generation), and with --browser Chromium.
# Safe to run again; does nothing when everything is there.
set -euo pipefail
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN=go1.27.3

need=()
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [[ "${1:-}" == "--browser" ]] && ! command -v chromium >/dev/null 2>&1; then
  need+=(chromium)
fi
if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a system cluster on install; the project runs its own.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
