#!/usr/bin/env bash
# Builds Asterisk (PJSIP with the bundled pjproject, ARI) into a cache and
# prints its prefix, for the tests that run a real Asterisk
# (internal/realasterisk) and for anyone who wants the same build.
#
#   scripts/install-asterisk.sh                 build if needed, print the prefix
#   scripts/install-asterisk.sh --print-prefix  print the prefix only (no build)
#
# The prefix is ${XDG_CACHE_HOME:-~/.cache}/helpdesk-ivr/asterisk-VERSION-HASH,
# HASH covering the versions and every build option below, so a second run
# costs nothing and a change of options builds beside the old one.
#
# Sources, the first found:
#   1. $ASTERISK_SRC_DIR: asterisk-VERSION.tar.gz, pjproject-PJVERSION.tar.bz2
#      and SHA256SUMS (the layout of shared/asterisk);
#   2. shared/asterisk beside the checkout or in a directory above it (or
#      the main checkout's, for a git worktree);
#   3. the official release tarball from downloads.asterisk.org, checked
#      against the .sha256 published with it; Asterisk's build then fetches
#      pjproject itself and checks it against the md5 it ships.
# It also installs, from Debian's packages, the build dependencies and what
# the tests use at run time: sipp (sip-tester) and the Italian and English
# core sounds. Needs root for those (it waits for the apt lock).
set -euo pipefail

AST_VERSION=20.20.1
PJ_VERSION=2.17
# Bump when the recipe changes in a way the options below do not show.
RECIPE=2

CONFIGURE_FLAGS=(--with-pjproject-bundled --without-x11 --without-gtk2 --disable-xmldoc)
# Categories that would download sounds or build what the service never uses.
MENUSELECT_DISABLE_CATEGORIES=(MENUSELECT_CORE_SOUNDS MENUSELECT_MOH MENUSELECT_EXTRA_SOUNDS
  MENUSELECT_ADDONS MENUSELECT_TESTS MENUSELECT_CDR MENUSELECT_CEL MENUSELECT_UTILS MENUSELECT_AGIS)
# Modules the service must not have (network listeners it does not configure)
# or never uses.
MENUSELECT_DISABLE=(chan_sip chan_iax2 chan_mgcp chan_skinny chan_unistim chan_motif chan_console
  chan_mobile res_xmpp pbx_dundi pbx_ael pbx_lua res_calendar res_calendar_caldav res_calendar_ews
  res_calendar_exchange res_calendar_icalendar res_fax res_fax_spandsp app_fax res_snmp app_festival
  app_minivm app_sms res_adsi app_adsiprog app_getcpeid res_smdi)
# What the project relies on: the build fails unless each of these is installed.
REQUIRED_MODULES=(chan_pjsip res_pjsip res_ari app_stasis res_stasis res_http_websocket
  res_stasis_playback res_stasis_recording res_stasis_snoop res_ari_channels res_ari_bridges
  res_ari_recordings res_ari_playbacks res_ari_sounds res_ari_applications res_ari_events
  bridge_simple bridge_softmix bridge_native_rtp bridge_holding res_musiconhold format_wav
  format_pcm codec_ulaw codec_alaw res_rtp_asterisk pbx_config res_timing_timerfd app_playback
  app_dial app_queue app_voicemail res_pjsip_session res_pjsip_dtmf_info)

BUILD_DEPS=(build-essential pkg-config bzip2 patch libjansson-dev libxml2-dev libsqlite3-dev
  uuid-dev libedit-dev libssl-dev libsrtp2-dev libcurl4-openssl-dev)
RUN_DEPS=(sip-tester asterisk-core-sounds-it-wav asterisk-core-sounds-en-wav asterisk-moh-opsound-wav)

log() { echo "install-asterisk: $*" >&2; }
die() { log "$*"; exit 1; }

options_hash() {
  printf '%s\n' "recipe=$RECIPE" "asterisk=$AST_VERSION" "pjproject=$PJ_VERSION" \
    "configure=${CONFIGURE_FLAGS[*]}" "disable_categories=${MENUSELECT_DISABLE_CATEGORIES[*]}" \
    "disable=${MENUSELECT_DISABLE[*]}" "required=${REQUIRED_MODULES[*]}" |
    sha256sum | cut -c1-12
}

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/helpdesk-ivr
prefix=$cache_root/asterisk-$AST_VERSION-$(options_hash)

if [[ "${1:-}" == "--print-prefix" ]]; then
  echo "$prefix"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [--print-prefix]"

# apt-get install of the packages not yet installed; waits for another apt.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} (Debian names); install them first"
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -qq)
  if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    "${apt[@]}" update
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

apt_install "${RUN_DEPS[@]}"

if [[ -f $prefix/.installed ]]; then
  echo "$prefix"
  exit 0
fi

mkdir -p "$cache_root"
# One build at a time: test packages started together wait for the first.
exec 9>"$cache_root/.asterisk-$AST_VERSION.lock"
flock 9
if [[ -f $prefix/.installed ]]; then
  echo "$prefix"
  exit 0
fi

apt_install "${BUILD_DEPS[@]}"

checkout=$(cd "$(dirname "$0")/.." && pwd)
src_dir=${ASTERISK_SRC_DIR:-}
if [[ -z $src_dir ]]; then
  # shared/asterisk in a directory holding the checkout (or the main
  # checkout of a git worktree), the nearest first.
  main=$(dirname "$(git -C "$checkout" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo /nonexistent/.git)")
  for start in "$checkout" "$main"; do
    d=$(dirname "$start")
    while [[ -z $src_dir ]]; do
      if [[ -f $d/shared/asterisk/asterisk-$AST_VERSION.tar.gz ]]; then
        src_dir=$(cd "$d/shared/asterisk" && pwd)
      fi
      [[ $d == / ]] && break
      d=$(dirname "$d")
    done
  done
fi

build=$(mktemp -d "$cache_root/build-XXXXXX")
trap 'rm -rf "$build"' EXIT
externals=$build/externals
mkdir -p "$externals"

if [[ -n $src_dir ]]; then
  log "sources from $src_dir"
  [[ -f $src_dir/SHA256SUMS ]] || die "$src_dir has no SHA256SUMS"
  (cd "$src_dir" && grep -E " (asterisk-$AST_VERSION\.tar\.gz|pjproject-$PJ_VERSION\.tar\.bz2)\$" SHA256SUMS |
    sha256sum --check --strict --quiet) || die "checksum mismatch in $src_dir"
  [[ $(grep -cE " (asterisk-$AST_VERSION\.tar\.gz|pjproject-$PJ_VERSION\.tar\.bz2)\$" "$src_dir/SHA256SUMS") -eq 2 ]] ||
    die "$src_dir/SHA256SUMS must list asterisk-$AST_VERSION.tar.gz and pjproject-$PJ_VERSION.tar.bz2"
  tar -xzf "$src_dir/asterisk-$AST_VERSION.tar.gz" -C "$build"
  cp "$src_dir/pjproject-$PJ_VERSION.tar.bz2" "$externals/"
  srcdir=$build/asterisk-$AST_VERSION
  # A git-archive pjproject tarball is not byte-identical to the release one
  # Asterisk's md5 file describes; its SHA-256 was checked above instead.
  (cd "$externals" && md5sum "pjproject-$PJ_VERSION.tar.bz2") \
    >"$srcdir/third-party/pjproject/pjproject-$PJ_VERSION.tar.bz2.md5"
else
  url=https://downloads.asterisk.org/pub/telephony/asterisk/releases
  log "no local sources; downloading asterisk-$AST_VERSION from $url"
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
  curl -fsSL -o "$build/asterisk-$AST_VERSION.tar.gz" "$url/asterisk-$AST_VERSION.tar.gz"
  curl -fsSL -o "$build/asterisk-$AST_VERSION.sha256" "$url/asterisk-$AST_VERSION.sha256"
  (cd "$build" && sha256sum --check --strict --quiet "asterisk-$AST_VERSION.sha256") ||
    die "checksum mismatch for asterisk-$AST_VERSION.tar.gz"
  tar -xzf "$build/asterisk-$AST_VERSION.tar.gz" -C "$build"
  srcdir=$build/asterisk-$AST_VERSION
fi
grep -qE "^PJPROJECT_VERSION *= *$PJ_VERSION\$" "$srcdir/third-party/versions.mak" ||
  die "asterisk-$AST_VERSION does not pin pjproject $PJ_VERSION"
# A git archive has no .version, and Asterisk would call itself UNKNOWN__.
[[ -f $srcdir/.version ]] || echo "$AST_VERSION" >"$srcdir/.version"

rm -rf "$prefix"
jobs=$(($(nproc) + 1))
log "building asterisk-$AST_VERSION into $prefix (several minutes)"
start=$SECONDS
(
  cd "$srcdir"
  ./configure --prefix="$prefix" --with-externals-cache="$externals" "${CONFIGURE_FLAGS[@]}" >"$build/configure.log" 2>&1 ||
    { tail -40 "$build/configure.log" >&2; exit 1; }
  make menuselect.makeopts >"$build/menuselect.log" 2>&1 || { tail -40 "$build/menuselect.log" >&2; exit 1; }
  args=()
  for c in "${MENUSELECT_DISABLE_CATEGORIES[@]}"; do args+=(--disable-category "$c"); done
  known=$(menuselect/menuselect --list-options menuselect.makeopts 2>/dev/null | awk '{print $2}')
  for m in "${MENUSELECT_DISABLE[@]}"; do
    # Only names this version knows (menuselect fails on the others).
    if grep -qx "$m" <<<"$known"; then
      args+=(--disable "$m")
    fi
  done
  menuselect/menuselect "${args[@]}" menuselect.makeopts >>"$build/menuselect.log" 2>&1 ||
    { tail -40 "$build/menuselect.log" >&2; exit 1; }
  make -j"$jobs" >"$build/make.log" 2>&1 || { tail -60 "$build/make.log" >&2; exit 1; }
  make install >"$build/install.log" 2>&1 || { tail -40 "$build/install.log" >&2; exit 1; }
)

for m in "${REQUIRED_MODULES[@]}"; do
  [[ -f $prefix/lib/asterisk/modules/$m.so ]] || die "the build has no $m.so (see menuselect)"
done
"$prefix/sbin/asterisk" -V | grep -q "Asterisk $AST_VERSION" || die "the installed asterisk is not $AST_VERSION"
printf 'asterisk %s\npjproject %s\noptions %s\nbuilt %s in %ss\n' "$AST_VERSION" "$PJ_VERSION" \
  "$(options_hash)" "$(date -u +%FT%TZ)" "$((SECONDS - start))" >"$prefix/.installed"
log "built in $((SECONDS - start)) s"
echo "$prefix"
