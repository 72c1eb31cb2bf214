#!/usr/bin/env bash
# Makes a PostgreSQL server available for the tests and prints its URL.
#
# 1. A server already answering at $CONCIERGE_TEST_PG (default
#    postgres://postgres@127.0.0.1:5432/postgres) is used as it is.
# 2. Otherwise a private cluster is started from the system's PostgreSQL
#    binaries (installed with apt-get when missing) in target/test-postgres,
#    on port 54329. Idempotent: a cluster already running there is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

url="${CONCIERGE_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
log() { echo "ensure-postgres: $*" >&2; }

can_connect() {
  command -v psql >/dev/null 2>&1 && psql "$1" -tAc 'select 1' >/dev/null 2>&1
}

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if can_connect "$url"; then
  echo "$url"; exit 0
fi

bindir="$(find_bindir || true)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  log "installing PostgreSQL (apt-get install postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-client >&2
  bindir="$(find_bindir)"
fi

# A server may have been installed but not started (e.g. a fresh package).
if can_connect "$url"; then
  echo "$url"; exit 0
fi

dir="$PWD/target/test-postgres"
port=54329
private="postgres://postgres@127.0.0.1:$port/postgres"
if can_connect "$private"; then
  echo "$private"; exit 0
fi

run() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
if [ ! -f "$dir/PG_VERSION" ]; then
  log "initialising a private cluster in $dir"
  run "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >&2
fi
log "starting the private cluster on port $port"
run "$bindir/pg_ctl" -D "$dir" -l "$dir/postgres.log" -w -t 60 \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 -c fsync=off" start >&2
echo "$private"
