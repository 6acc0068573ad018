#!/usr/bin/env bash
# Generates the secrets docker-compose.yml needs, where they are missing,
# with strong random values; run it before the first `docker compose up`
# (again at any time: what is already set is kept).
#
#   scripts/compose-secrets.sh [DIR]      DIR: the checkout (default: this script's)
#
#   .env                      POSTGRES_PASSWORD, ARI_PASSWORD, GRAFANA_ADMIN_PASSWORD
#   secrets/pin-secret        the key of the PIN hashes (never replaced: the
#                             hashes in configs/helpdesk.yaml depend on it)
#   configs/asterisk/ari.conf the ARI password, the same as ARI_PASSWORD
#   configs/asterisk/pjsip.conf
#                             every shipped "change-me-..." password (the
#                             operators' phones; the carrier's, which you
#                             then replace with the one the carrier gives)
#   configs/asterisk-kamailio/pjsip.conf
#                             the cluster's nodes: each placeholder takes the
#                             password of the same section of pjsip.conf
#   configs/kamailio/dbtext/subscriber
#                             the phones' passwords for Kamailio (the same as
#                             pjsip.conf's), when missing
#   configs/asterisk/voicemail.conf
#                             a mailbox password shorter than 6 digits or
#                             made of the mailbox number
#
# Afterwards `ivrctl validate -asterisk configs/asterisk` passes (the
# asterisk-secrets service of docker-compose.yml runs it before Asterisk
# starts), and so does `ivrctl validate -kamailio configs/kamailio`. It prints what it changed, never a secret. Configure each phone
# with the password of its opNNN section of pjsip.conf.
set -euo pipefail

dir=${1:-$(cd "$(dirname "$0")/.." && pwd)}
ast=$dir/configs/asterisk
[[ -f $ast/pjsip.conf && -f $ast/ari.conf ]] || { echo "compose-secrets: no $ast/pjsip.conf and ari.conf" >&2; exit 1; }
umask 077

log() { echo "compose-secrets: $*" >&2; }

# secret: 24 random letters and digits, at least one of each (ivrctl
# validate refuses a password of letters only or digits only).
secret() {
  local s
  while :; do
    s=$(head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
    if [[ ${#s} -eq 24 && $s =~ [0-9] && $s =~ [A-Za-z] ]]; then
      echo "$s"
      return
    fi
  done
}

# digits N: N random digits.
# digits N: N random digits. 256 random bytes hold about 10 digits, and
# fewer than 6 about once in 15 runs: read until there are enough.
digits() {
  local s=
  while ((${#s} < $1)); do
    s+=$(head -c 64 /dev/urandom | tr -dc '0-9')
  done
  printf '%s' "${s:0:$1}"
}

# env_get KEY: the value of KEY in .env ("" if absent).
env_get() {
  [[ -f $dir/.env ]] || return 0
  sed -n "s/^$1=//p" "$dir/.env" | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

# env_set KEY VALUE: appends KEY=VALUE to .env (only called for a key that
# is absent or empty there; an empty line is replaced).
env_set() {
  touch "$dir/.env"
  if grep -q "^$1=" "$dir/.env"; then
    sed -i "s/^$1=.*/$1=$(sed_escape "$2")/" "$dir/.env"
  else
    [[ ! -s $dir/.env || $(tail -c 1 "$dir/.env") == "" ]] || echo >>"$dir/.env"
    echo "$1=$2" >>"$dir/.env"
  fi
  log ".env: $1 set"
}

# sed_escape: VALUE safe as the replacement of a sed s/// command.
sed_escape() { printf '%s' "$1" | sed -e 's/[\/&]/\\&/g'; }

is_placeholder() { [[ ${1,,} == *change-me* || ${1,,} == *changeme* || -z $1 ]]; }

# ari.conf's password of [ivr] (plain).
ari_password() {
  awk '/^\[/{in_ivr = ($0 ~ /^\[ivr\]/)} in_ivr && /^[ \t]*password[ \t]*=/{sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]*(;.*)?$/, ""); print; exit}' "$ast/ari.conf"
}

# --- .env ------------------------------------------------------------------
for k in POSTGRES_PASSWORD GRAFANA_ADMIN_PASSWORD; do
  [[ -n $(env_get "$k") ]] || env_set "$k" "$(secret)"
done

# --- ARI: .env and ari.conf agree ---------------------------------------------
if grep -Eq '^[[:space:]]*password_format[[:space:]]*=[[:space:]]*crypt' "$ast/ari.conf"; then
  [[ -n $(env_get ARI_PASSWORD) ]] || { log "ari.conf keeps a crypt hash: put its plain password in .env as ARI_PASSWORD"; exit 1; }
else
  envpw=$(env_get ARI_PASSWORD)
  confpw=$(ari_password)
  if is_placeholder "$confpw"; then
    [[ -n $envpw ]] || { envpw=$(secret); env_set ARI_PASSWORD "$envpw"; }
    sed -i -E "/^\[ivr\]/,/^\[/ s/^([[:space:]]*password[[:space:]]*=[[:space:]]*).*/\1$(sed_escape "$envpw")/" "$ast/ari.conf"
    log "ari.conf: the password of [ivr] set (= ARI_PASSWORD of .env)"
  elif [[ -z $envpw ]]; then
    env_set ARI_PASSWORD "$confpw"
  elif [[ $envpw != "$confpw" ]]; then
    log "ARI_PASSWORD of .env differs from the password of [ivr] in ari.conf: make them equal"
    exit 1
  fi
fi

# --- pjsip.conf: every placeholder password --------------------------------------
n=0
tmp=$(mktemp "$ast/.pjsip.XXXXXX")
while IFS= read -r line || [[ -n $line ]]; do
  if [[ $line =~ ^([[:space:]]*password[[:space:]]*=[[:space:]]*)([^;[:space:]]*) ]] && is_placeholder "${BASH_REMATCH[2]}"; then
    [[ ${BASH_REMATCH[2]} != *carrier* ]] || log "pjsip.conf: the carrier's password was a placeholder: a random one is set; put the carrier's own in [carrier-auth] (or drop the registration if it authenticates by address)"
    line=${BASH_REMATCH[1]}$(secret)
    n=$((n + 1))
  fi
  printf '%s\n' "$line"
done <"$ast/pjsip.conf" >"$tmp"
if ((n > 0)); then
  chmod --reference="$ast/pjsip.conf" "$tmp"
  mv "$tmp" "$ast/pjsip.conf"
  log "pjsip.conf: $n placeholder passwords replaced (each phone: the password of its opNNN section)"
else
  rm -f "$tmp"
fi

# --- the Kamailio overlay: the same passwords ---------------------------------------
# configs/asterisk-kamailio (the nodes of the cluster profile) repeats the
# carrier's and the phones' auth sections: each placeholder takes the
# password of the same section of pjsip.conf, so a phone has one password
# whichever way it is deployed.
overlay=$dir/configs/asterisk-kamailio/pjsip.conf
if [[ -f $overlay ]]; then
  tmp=$(mktemp "$(dirname "$overlay")/.pjsip.XXXXXX")
  if ! awk -v placeholder='^change-?me' '
      function pw_of(line) { sub(/^[^=]*=[ \t]*/, "", line); sub(/[ \t]*(;.*)?$/, "", line); return line }
      FNR == 1 { main = (NR == 1) }
      /^\[/ { section = $0; sub(/[ \t]*(;.*)?$/, "", section) }
      main { if (/^[ \t]*password[ \t]*=/) pw[section] = pw_of($0); next }
      /^[ \t]*password[ \t]*=/ && tolower(pw_of($0)) ~ placeholder {
        if (!(section in pw) || tolower(pw[section]) ~ placeholder) { print "no password for " section " in pjsip.conf" > "/dev/stderr"; failed = 1 }
        else { sub(/=.*/, "= " pw[section]); n++ }
      }
      { print }
      END { print n + 0 > "/dev/stderr"; exit failed }' "$ast/pjsip.conf" "$overlay" >"$tmp" 2>"$tmp.n"; then
    log "configs/asterisk-kamailio/pjsip.conf: $(head -n 1 "$tmp.n"); not changed"
    rm -f "$tmp" "$tmp.n"
    exit 1
  fi
  n=$(tail -n 1 "$tmp.n")
  rm -f "$tmp.n"
  if ((n > 0)); then
    chmod --reference="$overlay" "$tmp"
    mv "$tmp" "$overlay"
    log "configs/asterisk-kamailio/pjsip.conf: $n placeholder passwords set (those of pjsip.conf)"
  else
    rm -f "$tmp"
  fi
fi

# --- voicemail.conf: mailbox passwords ---------------------------------------------
if [[ -f $ast/voicemail.conf ]]; then
  n=0
  tmp=$(mktemp "$ast/.voicemail.XXXXXX")
  section=
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^\[([^]]*)\] ]]; then
      section=${BASH_REMATCH[1]}
    elif [[ $section != general && $section != zonemessages && $line =~ ^([0-9]+)([[:space:]]*=>?[[:space:]]*)([^,]*)(.*)$ ]]; then
      box=${BASH_REMATCH[1]} sep=${BASH_REMATCH[2]} pin=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]}
      if [[ ! $pin =~ ^[0-9]{6,}$ || $pin == "$box"* || $box == "$pin"* ]]; then
        pin=$(digits 8)
        while [[ $pin == "$box"* ]]; do pin=$(digits 8); done
        line=$box$sep$pin$rest
        n=$((n + 1))
      fi
    fi
    printf '%s\n' "$line"
  done <"$ast/voicemail.conf" >"$tmp"
  if ((n > 0)); then
    chmod --reference="$ast/voicemail.conf" "$tmp"
    mv "$tmp" "$ast/voicemail.conf"
    log "voicemail.conf: $n mailbox passwords set (8 digits; see the file for *98)"
  else
    rm -f "$tmp"
  fi
fi

# --- Kamailio: the phones' passwords ---------------------------------------------
# Behind Kamailio (configs/kamailio) the phones register there, with the
# passwords of their opNNN sections of pjsip.conf (set above): written once
# as Kamailio's db_text table, never with a placeholder.
kam=$dir/configs/kamailio
if [[ -d $kam && ! -s $kam/dbtext/subscriber ]]; then
  mkdir -p "$kam/dbtext"
  tmp=$(mktemp "$kam/dbtext/.subscriber.XXXXXX")
  echo "id(int,auto) username(string) domain(string,null) password(string) ha1(string,null) ha1b(string,null)" >"$tmp"
  awk '/^\[[a-z]+[0-9]+\]\(operator-auth\)/ { user = $0; sub(/^\[/, "", user); sub(/\].*/, "", user); next }
       /^\[/ { user = "" }
       user != "" && /^[ \t]*password[ \t]*=/ { pw = $0; sub(/^[^=]*=[ \t]*/, "", pw); sub(/[ \t]*(;.*)?$/, "", pw); n++; print n ":" user "::" pw "::"; user = "" }' \
    "$ast/pjsip.conf" >>"$tmp"
  if grep -Eqi 'change-?me|:[^:]*[\\ ][^:]*::$' "$tmp"; then
    rm -f "$tmp"
    log "configs/kamailio/dbtext/subscriber: a placeholder or an unusable password in pjsip.conf; not written"
    exit 1
  fi
  mv "$tmp" "$kam/dbtext/subscriber"
  log "configs/kamailio/dbtext/subscriber: $(($(wc -l <"$kam/dbtext/subscriber") - 1)) phones (the passwords of pjsip.conf)"
fi

# --- the PIN secret ----------------------------------------------------------
if [[ ! -s $dir/secrets/pin-secret ]]; then
  mkdir -p "$dir/secrets"
  head -c 32 /dev/urandom | base64 >"$dir/secrets/pin-secret"
  chmod 400 "$dir/secrets/pin-secret"
  log "secrets/pin-secret created"
  # ivrd runs as uid 10001 in its image.
  if [[ $(id -u) -eq 0 ]]; then
    chown 10001 "$dir/secrets/pin-secret"
  else
    log "run: sudo chown 10001 $dir/secrets/pin-secret (ivrd's user must read it)"
  fi
fi
