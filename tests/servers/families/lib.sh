# shellcheck shell=bash
# Shared helpers of the server-family scripts (Cyrus, Courier, Exim in chroots). Sourced.
MS_FAMILIES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$MS_FAMILIES_DIR/../lib.sh"

# Cache of the roots, outside the clone.
MS_ROOTS_CACHE=${MS_ROOTS_CACHE:-/var/cache/mail-settings/roots}

# Path of a family's root: <cache>/<family>-<first 12 hex of sha256(install.sh)>.
# install.sh holds the package lists and the build steps, so any change to them gives a new root.
fam_root() {
  local h
  h=$(sha256sum "$MS_FAMILIES_DIR/install.sh" | cut -c1-12)
  echo "$MS_ROOTS_CACHE/$1-$h"
}

# Where start.sh records the roots it started the daemons from (also: "the families are up").
MS_FAMILIES_ENV=$MS_SERVERS_DIR/families.env
# shellcheck disable=SC2034 # used by start.sh
MS_FAMILY_LOG_DIR=$MS_LOG_DIR/families

# Service table of the families, like ms_services: name|process name|pid file (host path)|ports.
# Of the current roots, or of the roots given as $1 (Cyrus) and $2 (Courier).
ms_family_services() {
  local cy=${1:-} co=${2:-}
  [[ -n "$cy" ]] || cy=$(fam_root cyrus)
  [[ -n "$co" ]] || co=$(fam_root courier)
  cat <<EOF2
cyrus|cyrmaster|$cy/run/cyrus/ms-master.pid|imap:$MS_CYRUS_IMAP_PORT imaps:$MS_CYRUS_IMAPS_PORT pop3:$MS_CYRUS_POP3_PORT pop3s:$MS_CYRUS_POP3S_PORT
exim|exim4|$cy/run/exim4/ms-exim.pid|smtp:$MS_EXIM_SMTP_PORT smtps:$MS_EXIM_SMTPS_PORT
courier-authdaemon|courierlogger|$co/run/courier/authdaemon/pid|
courier-imapd|courierlogger|$co/run/courier/imapd.pid|imap:$MS_COURIER_IMAP_PORT
courier-imapd-ssl|courierlogger|$co/run/courier/imapd-ssl.pid|imaps:$MS_COURIER_IMAPS_PORT
courier-pop3d|courierlogger|$co/run/courier/pop3d.pid|pop3:$MS_COURIER_POP3_PORT
courier-pop3d-ssl|courierlogger|$co/run/courier/pop3d-ssl.pid|pop3s:$MS_COURIER_POP3S_PORT
EOF2
}

# True when every family service runs and listens.
ms_families_healthy() {
  local listening comm pidfile ports
  listening=$(ms_listening_ports)
  while IFS='|' read -r _ comm pidfile ports; do
    ms_pid_alive "$pidfile" "$comm" >/dev/null || return 1
    ms_ports_up "$ports" "$listening" || return 1
  done < <(ms_family_services)
}

# The roots the running daemons were started from ("CYRUS COURIER"), from families.env.
ms_started_roots() {
  [[ -s "$MS_FAMILIES_ENV" ]] || return 1
  echo "$(sed -n 's/^MS_CYRUS_ROOT=//p' "$MS_FAMILIES_ENV") $(sed -n 's/^MS_COURIER_ROOT=//p' "$MS_FAMILIES_ENV")"
}
