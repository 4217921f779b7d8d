#!/usr/bin/env bash
# Stops the daemons of the server families started by start.sh (from their pid files in the
# roots). Idempotent. The roots stay cached.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The daemons of the current roots and of the roots they were started from (which differ
# after install.sh built new roots).
services() {
  local started
  ms_family_services
  if started=$(ms_started_roots); then
    # shellcheck disable=SC2086
    ms_family_services $started
  fi
}
pids=()
while IFS='|' read -r _ comm pidfile _; do
  pid=$(ms_pid_alive "$pidfile" "$comm") || continue
  pids+=("$pid")
done < <(services)
if [[ ${#pids[@]} -gt 0 ]]; then
  mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
  kill "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive=()
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    [[ ${#alive[@]} -eq 0 ]] && break
    sleep 0.1
  done
  [[ ${#alive[@]} -eq 0 ]] || kill -9 "${alive[@]}" 2>/dev/null || true
fi
# Wait until the ports are free (children exit a moment after their masters).
all_ports=""
while IFS='|' read -r _ _ pidfile ports; do
  all_ports+=" $ports"
  rm -f "$pidfile"
done < <(services)
for ((i = 0; i < 50; i++)); do
  listening=$(ms_listening_ports)
  busy=0
  for lp in $all_ports; do
    grep -qx "${lp##*:}" <<<"$listening" && { busy=1; break; }
  done
  [[ $busy -eq 0 ]] && break
  sleep 0.1
done
rm -f "$MS_FAMILIES_ENV"
echo "families/stop.sh: stopped ${#pids[@]} daemon(s)"
