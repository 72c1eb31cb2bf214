#!/usr/bin/env bash
# Benchmark of `concierge import mbox` (issue 12): generates an mbox of N
# messages (default 100000) of about SIZE bytes each (default 2000), imports
# it into a fresh database with the release binary, and prints messages/s,
# MB/s and the peak RSS. Loopback only; the database is dropped at the end.
#
#   scripts/bench-import.sh [N] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
size="${2:-2000}"

base="$(scripts/ensure-postgres.sh)"
server="${base%/*}"
db="concierge_bench_import_$$"
psql "$server/postgres" -qc "CREATE DATABASE $db" >/dev/null
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT

SQLX_OFFLINE=true cargo build --release --quiet --bin concierge
mkdir -p target/bench
mbox="target/bench/import-${n}x${size}.mbox"
if [ ! -s "$mbox" ]; then
  echo "bench-import: writing $mbox" >&2
  python3 - "$n" "$size" "$mbox" <<'EOF'
import sys
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
filler = ("I play bass in a touring band and I need someone to talk to. " * 100)
with open(path, "w", newline="") as f:
    for i in range(n):
        thread = i // 4
        reply = i % 4
        f.write("From MAILER-DAEMON Tue Nov 10 08:00:00 2026\n")
        f.write(f"From: Writer {thread % 5000} <writer{thread % 5000}@example.com>\n")
        f.write("To: global@concierge.example.org\n")
        f.write(f"Subject: {'Re: ' if reply else ''}thread {thread}\n")
        f.write(f"Message-ID: <m{i}@bench.example>\n")
        if reply:
            f.write(f"In-Reply-To: <m{i - 1}@bench.example>\n")
        f.write(f"Date: Tue, 10 Nov 2026 {8 + reply:02d}:00:00 +0000\n\n")
        f.write(f"Message {i}. I live in Oslo.\n")
        body = filler[: max(0, size - 300)]
        for k in range(0, len(body), 72):
            f.write(body[k : k + 72] + "\n")
        f.write("\n")
EOF
fi
bytes=$(stat -c %s "$mbox")
echo "bench-import: $n messages, $((bytes / 1000000)) MB, on $(nproc) cores" >&2
start=$(date +%s.%N)
DATABASE_URL="$server/$db" /usr/bin/time -v target/release/concierge import mbox \
  --open-since 2026-11-01 "$mbox" > target/bench/import.out 2> target/bench/import.time
end=$(date +%s.%N)
cat target/bench/import.out
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' target/bench/import.time)
python3 - "$start" "$end" "$n" "$bytes" "$rss_kb" <<'EOF'
import sys
start, end, n, b, rss = map(float, sys.argv[1:])
secs = end - start
print(f"import mbox: {int(n)} messages in {secs:.1f} s = {n / secs:.0f} msg/s, "
      f"{b / 1e6 / secs:.1f} MB/s, peak RSS {rss / 1024:.0f} MB")
EOF
