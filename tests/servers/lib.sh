# shellcheck shell=bash
# Shared helpers for the test-server scripts. Sourced, never run.
# Loads ports.env (MS_SERVERS_DIR may be overridden from the environment) and defines
# the service table used by start.sh, stop.sh and status.sh.

MS_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_ms_dir_override=${MS_SERVERS_DIR:-}
# shellcheck source=ports.env
source "$MS_SCRIPTS_DIR/ports.env"
if [[ -n "$_ms_dir_override" ]]; then
  MS_SERVERS_DIR=$_ms_dir_override
fi
unset _ms_dir_override
MS_SERVERS_DIR=${MS_SERVERS_DIR%/}
export MS_SERVERS_DIR

# Paths and names used by the other scripts.
# shellcheck disable=SC2034
{
  # Dedicated unprivileged owner of the mail storage.
  MS_MAIL_OWNER=mstest
  MS_LOG_DIR=$MS_SERVERS_DIR/log
  MS_RUN_DIR=$MS_SERVERS_DIR/run
  MS_CERT_DIR=$MS_SERVERS_DIR/certs
  MS_POSTFIX_CONF=$MS_SERVERS_DIR/postfix/etc
  MS_POSTFIX_QUEUE=$MS_SERVERS_DIR/postfix/queue
  # Postfix master.lock holds the pid of the master that owns the lock (master.pid can be
  # overwritten by a second master that then fails to start).
  MS_POSTFIX_DATA=$MS_SERVERS_DIR/postfix/data
}

# Service table: name|expected process name|pid file|space-separated "label:port" list.
ms_services() {
  local d=$MS_SERVERS_DIR
  cat <<EOF
dovecot-main|dovecot|$d/dovecot/main/master.pid|imap:$MS_IMAP_PORT imaps:$MS_IMAPS_PORT pop3:$MS_POP3_PORT pop3s:$MS_POP3S_PORT lmtp:$MS_LMTP_PORT auth:$MS_DOVECOT_AUTH_PORT
dovecot-notls|dovecot|$d/dovecot/notls/master.pid|imap:$MS_IMAP_NOTLS_PORT pop3:$MS_POP3_NOTLS_PORT
dovecot-selfsigned|dovecot|$d/dovecot/selfsigned/master.pid|imap:$MS_IMAP_SELFSIGNED_PORT imaps:$MS_IMAPS_SELFSIGNED_PORT pop3:$MS_POP3_SELFSIGNED_PORT pop3s:$MS_POP3S_SELFSIGNED_PORT
dovecot-expired|dovecot|$d/dovecot/expired/master.pid|imap:$MS_IMAP_EXPIRED_PORT imaps:$MS_IMAPS_EXPIRED_PORT pop3:$MS_POP3_EXPIRED_PORT pop3s:$MS_POP3S_EXPIRED_PORT
dovecot-wronghost|dovecot|$d/dovecot/wronghost/master.pid|imap:$MS_IMAP_WRONGHOST_PORT imaps:$MS_IMAPS_WRONGHOST_PORT pop3:$MS_POP3_WRONGHOST_PORT pop3s:$MS_POP3S_WRONGHOST_PORT
postfix|master|$MS_POSTFIX_DATA/master.lock|smtp:$MS_SMTP_PORT smtps:$MS_SMTPS_PORT smtp-notls:$MS_SMTP_NOTLS_PORT smtp-selfsigned:$MS_SMTP_SELFSIGNED_PORT smtps-selfsigned:$MS_SMTPS_SELFSIGNED_PORT smtp-expired:$MS_SMTP_EXPIRED_PORT smtps-expired:$MS_SMTPS_EXPIRED_PORT smtp-wronghost:$MS_SMTP_WRONGHOST_PORT smtps-wronghost:$MS_SMTPS_WRONGHOST_PORT
danted-noauth|danted|$MS_RUN_DIR/danted-noauth.pid|socks5:$MS_SOCKS5_PORT
danted-auth|danted|$MS_RUN_DIR/danted-auth.pid|socks5-auth:$MS_SOCKS5_AUTH_PORT
tinyproxy-noauth|tinyproxy|$MS_RUN_DIR/tinyproxy-noauth.pid|http-proxy:$MS_HTTP_PROXY_PORT
tinyproxy-auth|tinyproxy|$MS_RUN_DIR/tinyproxy-auth.pid|http-proxy-auth:$MS_HTTP_PROXY_AUTH_PORT
postgres|postgres|$MS_RUN_DIR/postgres.pid|postgres:$MS_POSTGRES_PORT
oauth2-server|node|$MS_RUN_DIR/oauth2-server.pid|oauth2:$MS_OAUTH2_SERVER_PORT
EOF
}

# Log file of a service (for error messages).
ms_log_file() {
  case "$1" in
    dovecot-*) echo "$MS_LOG_DIR/$1.log" ;;
    postfix) echo "$MS_LOG_DIR/postfix.log" ;;
    *) echo "$MS_LOG_DIR/$1.log" ;;
  esac
}

# Prints the pid from a pid file if that process is alive and has the expected name.
ms_pid_alive() {
  local pidfile=$1 comm=$2 pid
  [[ -s "$pidfile" ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)
  [[ -n "$pid" ]] || return 1
  [[ -r /proc/$pid/comm ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1
  echo "$pid"
}

# All TCP ports listening on 127.0.0.1, one per line (one ss call).
ms_listening_ports() {
  ss -ltnH 2>/dev/null | awk '{ n = split($4, a, ":"); if ($4 ~ /^127\.0\.0\.1:/ || $4 ~ /^0\.0\.0\.0:/ || $4 ~ /^\*:/) print a[n] }' | sort -u
}

# True when every port of the given "label:port" list is in the listening set ($2, newline list).
ms_ports_up() {
  local ports=$1 listening=$2 lp
  for lp in $ports; do
    grep -qx "${lp##*:}" <<<"$listening" || return 1
  done
}

# True when all services run from their pid files and all their ports listen.
ms_all_healthy() {
  local listening comm pidfile ports
  listening=$(ms_listening_ports)
  while IFS='|' read -r _ comm pidfile ports; do
    ms_pid_alive "$pidfile" "$comm" >/dev/null || return 1
    ms_ports_up "$ports" "$listening" || return 1
  done < <(ms_services)
  return 0
}

# Every MS_*_PORT value from ports.env (used for tinyproxy's ConnectPort list).
ms_all_server_ports() {
  local v
  for v in $(compgen -v MS_ | grep '_PORT$'); do
    [[ "$v" == MS_PROXY_BLOCKED_PORT ]] && continue
    echo "${!v}"
  done | sort -un
}
