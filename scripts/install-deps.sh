#!/usr/bin/env bash
# Installs what the tests and the demo need from Debian's packages, when it
# is missing: PostgreSQL's server binaries, espeak-ng and sox (prompt
# generation), Kamailio (the SIP front of the real-Asterisk tests, which
# start their own), and with --browser (the test command) Chromium, Postfix
# and Prometheus (for its promtool, which checks the alert rules).
# Safe to run again; does nothing when everything is there. Waits for
# another apt or dpkg to finish (up to APT_LOCK_WAIT seconds, 600), and
# stops only the PostgreSQL cluster and the Prometheus service that its own
# install started.
set -euo pipefail
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN=go1.27.3

# apt_get ARGS...: apt-get, waiting for the locks of another apt or dpkg
# instead of failing on them. apt waits for dpkg's lock itself
# (DPkg::Lock::Timeout), but not for the lock of its lists (apt-get update)
# or of its download cache: those it reports at once, so try again.
apt_get() {
  local wait=${APT_LOCK_WAIT:-600} deadline err rc
  deadline=$((SECONDS + wait))
  err=$(mktemp)
  while true; do
    rc=0
    apt-get -o DPkg::Lock::Timeout="$wait" "$@" 2>"$err" || rc=$?
    if ((rc == 0)) || ((SECONDS >= deadline)) ||
      ! grep -qE '^E: (Could not get lock|Unable to lock|Unable to acquire)' "$err"; then
      cat "$err" >&2
      rm -f "$err"
      return "$rc"
    fi
    echo "install-deps: another apt or dpkg holds its lock; waiting" >&2
    sleep 2
  done
}

# running_clusters: the PostgreSQL clusters running on this machine, one
# "version name" a line (none before postgresql-common is installed).
running_clusters() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  pg_lsclusters -h | awk '$4 ~ /^online/ { print $1, $2 }' | LC_ALL=C sort
}

# prometheus_running: whether a Prometheus server runs on this machine
# (systemd's unit, else any process of that name).
prometheus_running() {
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    return 0
  fi
  pgrep -x prometheus >/dev/null 2>&1
}

# stop_prometheus: stops Debian's prometheus service and keeps it from
# starting at boot: it would listen on :9090, the port docker-compose's
# Prometheus publishes.
stop_prometheus() {
  echo "install-deps: stopping the Prometheus service started by the install (only promtool is used)" >&2
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl disable --now prometheus >/dev/null 2>&1 || echo "install-deps: could not stop the prometheus service" >&2
  else
    { service prometheus stop && update-rc.d prometheus disable; } >/dev/null 2>&1 ||
      echo "install-deps: could not stop the prometheus service" >&2
  fi
}

# install_packages PACKAGE...: installs them. Debian's postgresql package
# creates and starts a system cluster, which the project does not use (its
# tests and demo start their own): stop a cluster that runs after the
# install and did not before, and leave every other one alone. Debian's
# prometheus package starts its server where services may start (systemd):
# the same, for the tests need only its promtool.
install_packages() {
  local before after prom_before=no
  before=$(running_clusters)
  if prometheus_running; then
    prom_before=yes
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "$@" >/dev/null
  after=$(running_clusters)
  LC_ALL=C comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | while read -r ver name; do
    [[ -n "$ver" ]] || continue
    echo "install-deps: stopping PostgreSQL cluster $ver/$name, started by the install" >&2
    pg_ctlcluster "$ver" "$name" stop || echo "install-deps: could not stop cluster $ver/$name" >&2
  done
  if [[ $prom_before == no ]] && prometheus_running; then
    stop_prometheus
  fi
  # Debian's kamailio package enables and starts a system service on
  # /etc/kamailio; the tests start their own Kamailio and the deployment
  # runs it in its container: stop and disable the one the install started.
  if [[ " $* " == *" kamailio "* ]] && command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now kamailio >/dev/null 2>&1 || echo "install-deps: could not stop the kamailio service" >&2
  fi
}

main() {
  local need=() tool
  for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
  done
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
  fi
  # The package only: its service would take UDP 5060 (see install_packages).
  if [[ ! -x /usr/sbin/kamailio ]]; then
    need+=(kamailio)
  fi
  if [[ "${1:-}" == "--browser" ]] && ! command -v chromium >/dev/null 2>&1; then
    need+=(chromium)
  fi
  # The tests deliver mail through a private Postfix (mailin): the package
  # only, configured as "No configuration", so no system mail server runs.
  if [[ "${1:-}" == "--browser" ]] && [[ ! -x /usr/sbin/postfix ]]; then
    need+=(postfix)
  fi
  # promtool checks and unit-tests the alert rules (configs/prometheus);
  # Debian ships it in the prometheus package.
  if [[ "${1:-}" == "--browser" ]] && ! command -v promtool >/dev/null 2>&1; then
    need+=(prometheus)
  fi
  if ((${#need[@]} == 0)); then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
    return 1
  fi
  echo "install-deps: installing ${need[*]} from Debian's packages" >&2
  if [[ " ${need[*]} " == *" postfix "* ]] && command -v debconf-set-selections >/dev/null 2>&1; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  fi
  install_packages "${need[@]}"
}

# Sourced by its test, which calls the functions above with fake commands.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
