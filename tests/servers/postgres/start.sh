#!/usr/bin/env bash
# Starts the test PostgreSQL cluster (Debian's postgresql package, a cluster of our own):
# data directory $MS_SERVERS_DIR/postgres/data, loopback port $MS_POSTGRES_PORT, superuser
# $MS_POSTGRES_USER with password $MS_POSTGRES_PASSWORD (scram-sha-256 for TCP), TLS on with
# the test CA's "localhost" certificate, and a password file $MS_SERVERS_DIR/postgres/pgpass
# (PGPASSFILE format) for the tests. Idempotent: does nothing when the server runs. Called by
# ../start.sh (under its lock) as the service "postgres"; runnable on its own as root.
# Writes $MS_RUN_DIR/postgres.pid (the postmaster's pid, one line) for ../lib.sh's table.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

D=$MS_SERVERS_DIR/postgres
DATA=$D/data
PIDFILE=$MS_RUN_DIR/postgres.pid
LOG=$MS_LOG_DIR/postgres.log

if ms_pid_alive "$PIDFILE" postgres >/dev/null; then
  exit 0
fi

# The newest installed server version's binaries (Debian keeps them out of PATH).
bindir=$(find /usr/lib/postgresql -maxdepth 3 -name initdb -path '*/bin/*' 2>/dev/null | sort -V | tail -n 1)
bindir=${bindir%/initdb}
if [[ -z "$bindir" ]]; then
  echo "postgres/start.sh: no PostgreSQL server installed (Debian package postgresql; ../install.sh installs it)" >&2
  exit 1
fi
if [[ ! -s "$MS_CERT_DIR/localhost.pem" ]]; then
  echo "postgres/start.sh: no test certificates in $MS_CERT_DIR (run ../certs.sh)" >&2
  exit 1
fi

mkdir -p "$D" "$MS_LOG_DIR" "$MS_RUN_DIR"
chown postgres:postgres "$D"
chmod 700 "$D"
# PostgreSQL refuses to run as root: everything below runs as the postgres system user.
as_pg() { runuser -u postgres -- "$@"; }

if [[ ! -s "$DATA/PG_VERSION" ]]; then
  rm -rf "$DATA"
  pwfile=$(mktemp)
  printf '%s\n' "$MS_POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  # fsync off is for the initdb only (speed); the server below runs with fsync on, as in use.
  as_pg "$bindir/initdb" -D "$DATA" -U "$MS_POSTGRES_USER" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  rm -f "$pwfile"
fi

# Certificates: the server wants its key owned by itself and not readable by others.
install -o postgres -g postgres -m 600 "$MS_CERT_DIR/localhost.key" "$DATA/server.key"
install -o postgres -g postgres -m 644 "$MS_CERT_DIR/localhost.pem" "$DATA/server.crt"
cat >"$DATA/postgresql.auto.conf" <<CONF
# Written by tests/servers/postgres/start.sh on every start.
listen_addresses = '127.0.0.1'
port = $MS_POSTGRES_PORT
unix_socket_directories = '$D'
max_connections = 200
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
log_min_messages = warning
CONF
chown postgres:postgres "$DATA/postgresql.auto.conf"

# The tests' password file (libpq's PGPASSFILE format), readable by its owner only.
printf '127.0.0.1:%s:*:%s:%s\nlocalhost:%s:*:%s:%s\n' \
  "$MS_POSTGRES_PORT" "$MS_POSTGRES_USER" "$MS_POSTGRES_PASSWORD" \
  "$MS_POSTGRES_PORT" "$MS_POSTGRES_USER" "$MS_POSTGRES_PASSWORD" >"$D/pgpass.tmp"
chmod 600 "$D/pgpass.tmp"
mv -f "$D/pgpass.tmp" "$D/pgpass"

touch "$LOG"
chown postgres "$LOG"
as_pg "$bindir/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 start >/dev/null
head -n 1 "$DATA/postmaster.pid" >"$PIDFILE"
