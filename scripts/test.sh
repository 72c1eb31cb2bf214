#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts what the
# tests need (idempotently), then runs every test in the workspace.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p concierge-core   # extra args go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo is not installed (https://rustup.rs)" >&2; exit 1
fi

# Tools the tests drive (PostgreSQL client and server binaries; Debian's
# Chromium and ChromeDriver for tests/browser.rs; OpenSSL headers for the
# WebDriver client's TLS, which links the system OpenSSL; Dovecot).
need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
# Dovecot for tests/imap.rs (each test runs its own instance on loopback; the
# system service is never used) and openssl for its self-signed certificate.
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

DATABASE_URL="$(scripts/ensure-postgres.sh)"
export DATABASE_URL
# Queries are checked against the committed .sqlx/ data, not a live database.
export SQLX_OFFLINE=true
echo "test.sh: database ${DATABASE_URL}" >&2

cargo test --workspace --all-targets --no-fail-fast "$@"
