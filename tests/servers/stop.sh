#!/usr/bin/env bash
# Stops the test servers started by start.sh. Idempotent. Only touches processes named in
# start.sh's pid files, or daemons whose command line/config points into $MS_SERVERS_DIR
# (leftovers after the directory was deleted while they ran).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

D=$MS_SERVERS_DIR
pids=()

# 1. From the pid files.
while IFS='|' read -r name comm pidfile ports; do
  pid=$(ms_pid_alive "$pidfile" "$comm") || continue
  if [[ "$name" == postfix && -f "$MS_POSTFIX_CONF/main.cf" ]]; then
    postfix -c "$MS_POSTFIX_CONF" stop >/dev/null 2>&1 || true
  fi
  if [[ "$name" == postgres ]]; then
    "$MS_SCRIPTS_DIR/postgres/stop.sh" || true
  fi
  pids+=("$pid")
done < <(ms_services)

# 2. Masters started by us whose pid file is gone: dovecot -c $D/..., danted -f $D/...,
#    tinyproxy -c $D/..., and Postfix's master with MAIL_CONFIG=$MS_POSTFIX_CONF.
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  comm=$(cat 2>/dev/null "$proc/comm") || continue
  case "$comm" in
    dovecot | danted | tinyproxy)
      cmdline=$(tr 2>/dev/null '\0' ' ' <"$proc/cmdline") || continue
      if [[ "$cmdline" == *" $D/dovecot/"*.conf* || "$cmdline" == *" $D/dante/"*.conf* ||
        "$cmdline" == *" $D/tinyproxy/"*.conf* ]]; then
        # Only masters: skip children whose parent is one of ours too.
        ppid=$(awk '{print $4}' "$proc/stat" 2>/dev/null || echo 1)
        pcomm=$(cat "/proc/$ppid/comm" 2>/dev/null || true)
        [[ "$pcomm" == "$comm" ]] && continue
        pids+=("$pid")
      fi
      ;;
    node)
      cmdline=$(tr 2>/dev/null '\0' ' ' <"$proc/cmdline") || continue
      [[ "$cmdline" == *" $D/oauth2/node/server.js"* ]] && pids+=("$pid")
      ;;
    master)
      if tr 2>/dev/null '\0' '\n' <"$proc/environ" | grep -qx "MAIL_CONFIG=$MS_POSTFIX_CONF"; then
        pids+=("$pid")
      fi
      ;;
  esac
done

if [[ ${#pids[@]} -gt 0 ]]; then
  mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
  kill "${pids[@]}" 2>/dev/null || true
  # Wait up to 10 s, then force.
  for ((i = 0; i < 100; i++)); do
    alive=()
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    [[ ${#alive[@]} -eq 0 ]] && break
    sleep 0.1
  done
  if [[ ${#alive[@]} -gt 0 ]]; then
    kill -9 "${alive[@]}" 2>/dev/null || true
  fi
fi

# Wait until our ports are released (children of the masters exit a moment later).
all_ports=""
while IFS='|' read -r name comm pidfile ports; do
  all_ports+=" $ports"
  rm -f "$pidfile"
done < <(ms_services)
for ((i = 0; i < 50; i++)); do
  listening=$(ms_listening_ports)
  busy=0
  for lp in $all_ports; do
    if grep -qx "${lp##*:}" <<<"$listening"; then
      busy=1
      break
    fi
  done
  [[ $busy -eq 0 ]] && break
  sleep 0.1
done
echo "stop.sh: stopped ${#pids[@]} daemon(s)"
# The server families (tests/servers/families/), when they were started.
if [[ -e "$MS_SERVERS_DIR/families.env" ]]; then
  "$MS_SCRIPTS_DIR/families/stop.sh"
fi
