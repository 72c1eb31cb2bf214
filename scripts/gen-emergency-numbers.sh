#!/usr/bin/env bash
# Regenerate crates/concierge-core/data/emergency/numbers.tsv from a pinned
# libphonenumber (PyPI `phonenumbers`). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/emergency-data-venv
PIN=phonenumbers==9.0.43
if [ ! -x "$VENV/bin/python" ]; then "${PYTHON:-python3}" -m venv "$VENV"; fi
if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PIN" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIN"
  printf '%s' "$PIN" > "$VENV/.pins"
fi
"$VENV/bin/python" scripts/gen-emergency-numbers.py crates/concierge-core/data/emergency/numbers.tsv
