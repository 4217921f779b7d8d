#!/usr/bin/env bash
# Stops the test PostgreSQL cluster (fast shutdown: open sessions are ended). Idempotent.
# Called by ../stop.sh before it signals the other daemons.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DATA=$MS_SERVERS_DIR/postgres/data
[[ -s "$DATA/postmaster.pid" ]] || exit 0
bindir=$(find /usr/lib/postgresql -maxdepth 3 -name pg_ctl -path '*/bin/*' 2>/dev/null | sort -V | tail -n 1)
[[ -n "$bindir" ]] || exit 0
runuser -u postgres -- "$bindir" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
rm -f "$MS_RUN_DIR/postgres.pid"
