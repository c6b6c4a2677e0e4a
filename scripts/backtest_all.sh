#!/usr/bin/env bash
# Every shared grid × every sessions file, and the calendar scenario on every grid: the tables of
# docs/backtest-results.md. Usage: scripts/backtest_all.sh [DATA_DIR (default ../shared/data)] [OUT_DIR]
# Writes OUT_DIR/<grid>_<sessions>.json and .txt (default OUT_DIR: backtest-out/), then prints the markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
OUT="${2:-backtest-out}"
mkdir -p "$OUT"
declare -A ZONE=([PJM]=America/New_York [ERCO]=America/Chicago [CISO]=America/Los_Angeles [NYIS]=America/New_York)
for grid in PJM ERCO CISO NYIS; do
  for sessions in acn_caltech home_norway; do
    python -m backtest --quiet --grid "$DATA/grid/$grid.csv" --sessions "$DATA/sessions/$sessions.csv" \
      --tz "${ZONE[$grid]}" --json "$OUT/${grid}_${sessions}.json" | tee "$OUT/${grid}_${sessions}.txt"
  done
  python -m backtest --quiet --scenario calendar --seed 1 --grid "$DATA/grid/$grid.csv" --tz "${ZONE[$grid]}" \
    --json "$OUT/${grid}_calendar.json" | tee "$OUT/${grid}_calendar.txt"
done
