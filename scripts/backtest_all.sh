#!/usr/bin/env bash
# Every shared grid × every sessions file, and the calendar scenario on every grid, then docs/backtest-results.md on
# stdout:   scripts/backtest_all.sh ../shared/data > docs/backtest-results.md
# Usage: scripts/backtest_all.sh [DATA_DIR (default ../shared/data)] [OUT_DIR (default $TMPDIR/backtest-out)]
# Each run's JSON and table are kept in OUT_DIR; progress goes to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$(cd "${1:-$ROOT/../shared/data}" && pwd)"
OUT="${2:-${TMPDIR:-/tmp}/backtest-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"
declare -A ZONE=([PJM]=America/New_York [ERCO]=America/Chicago [CISO]=America/Los_Angeles [NYIS]=America/New_York)
for grid in PJM ERCO CISO NYIS; do
  for sessions in acn_caltech home_norway; do
    echo "$grid × $sessions" >&2
    python -m backtest --quiet --grid "$DATA/grid/$grid.csv" --sessions "$DATA/sessions/$sessions.csv" \
      --tz "${ZONE[$grid]}" --json "$OUT/${grid}_${sessions}.json" > "$OUT/${grid}_${sessions}.txt"
  done
  echo "$grid × calendar" >&2
  python -m backtest --quiet --scenario calendar --seed 1 --grid "$DATA/grid/$grid.csv" --tz "${ZONE[$grid]}" \
    --json "$OUT/${grid}_calendar.json" > "$OUT/${grid}_calendar.txt"
done
python -m backtest.report "$OUT"
