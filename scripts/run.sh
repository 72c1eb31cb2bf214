#!/usr/bin/env bash
# Runs Concierge with demo data. Without DATABASE_URL (or database.url) the
# service starts its own private PostgreSQL cluster in .concierge/postgres.
#
#   scripts/run.sh                       # http://127.0.0.1:8080, smtp 127.0.0.1:2525
#   scripts/run.sh --config my.toml      # extra args go to `concierge`
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${DATABASE_URL:-}" ]; then
  echo "run.sh: installing PostgreSQL binaries for the embedded database" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql
fi
export SQLX_OFFLINE=true
exec cargo run --release --bin concierge -- "$@" serve --demo
