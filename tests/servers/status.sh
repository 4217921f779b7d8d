#!/usr/bin/env bash
# Prints each test service, its pid and whether each of its ports accepts a TCP connection.
# Exit status 1 if anything is down.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# True when 127.0.0.1:PORT accepts a connection within 2 s.
port_answers() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

down=0
while IFS='|' read -r name comm pidfile ports; do
  pid=$(ms_pid_alive "$pidfile" "$comm" || true)
  line=""
  state=up
  [[ -n "$pid" ]] || state=down
  for lp in $ports; do
    if port_answers "${lp##*:}"; then
      line+=" ${lp}=ok"
    else
      line+=" ${lp}=DOWN"
      state=down
    fi
  done
  [[ "$state" == up ]] || down=1
  printf '%-19s %-4s pid %-7s%s\n' "$name" "$state" "${pid:--}" "$line"
done < <(ms_services)
# The server families (tests/servers/families/), when started or asked for (MS_FAMILIES=1).
if [[ -e "$MS_SERVERS_DIR/families.env" || "${MS_FAMILIES:-0}" == 1 ]]; then
  "$MS_SCRIPTS_DIR/families/status.sh" || down=1
fi
exit "$down"
