#!/usr/bin/env bash
# Every grid × every sessions file, and the calendar scenario on every grid, as docs/backtest-results.md:
#   scripts/backtest_all.sh ../shared/data docs/backtest-results.md
# Usage: scripts/backtest_all.sh [DATA_DIR (default ../shared/data)] [RESULTS_FILE (default: stdout)] [RUNS_DIR]
# DATA_DIR holds grid/{PJM,ERCO,CISO,NYIS}.csv and sessions/{acn_caltech,home_norway}.csv (docs/benchmark.md says
# where they come from; scripts/fetch_data.py makes them). Every input is checked before anything runs, and
# RESULTS_FILE is replaced only when every run succeeded (a temp file beside it, then moved): a missing folder or
# a failed run leaves the committed results as they were. Each run's JSON and table are kept in RUNS_DIR
# (default $TMPDIR/backtest-out); progress goes to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA_ARG="${1:-$ROOT/../shared/data}"
RESULTS="${2:-}"
if [ -n "$RESULTS" ] && [ -d "$RESULTS" ]; then
  echo "error: $RESULTS is a folder: give the results file (e.g. docs/backtest-results.md)" >&2; exit 2
fi
if [ ! -d "$DATA_ARG" ]; then
  echo "error: data folder $DATA_ARG not found: see docs/benchmark.md (python scripts/fetch_data.py makes it)" >&2
  exit 2
fi
DATA="$(cd "$DATA_ARG" && pwd)"
GRID_HEADER="interval_start_utc,load_mw,load_forecast_mw"
SESSIONS_HEADER="session_id,station_id,arrival,departure,estimated_departure,requested_energy_kwh,delivered_energy_kwh"
missing=()
for grid in PJM ERCO CISO NYIS; do
  f="$DATA/grid/$grid.csv"
  if [ ! -r "$f" ]; then missing+=("$f (missing)")
  elif [ "$(grep -v '^#' "$f" | head -1 | tr -d '\r')" != "$GRID_HEADER" ]; then missing+=("$f (header is not $GRID_HEADER)")
  fi
done
for tariff in pge_bev-2-s dominion_gs-3; do  # the money runs' real URDB rates (data/tariffs/README.md)
  f="$ROOT/data/tariffs/$tariff.json"
  [ -r "$f" ] || missing+=("$f (missing)")
done
for sessions in acn_caltech home_norway; do
  f="$DATA/sessions/$sessions.csv"
  if [ ! -r "$f" ]; then missing+=("$f (missing)")
  elif [ "$(head -1 "$f" | tr -d '\r')" != "$SESSIONS_HEADER" ]; then missing+=("$f (header is not $SESSIONS_HEADER)")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "error: nothing run, nothing written; the data folder lacks: ${missing[*]}" >&2
  exit 2
fi
OUT="${3:-${TMPDIR:-/tmp}/backtest-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if [ -n "$RESULTS" ]; then
  mkdir -p "$(dirname "$RESULTS")"
  TMP="$(mktemp "$(dirname "$RESULTS")/.$(basename "$RESULTS").XXXXXX")"
  chmod 644 "$TMP"
  trap 'rm -f "$TMP"' EXIT
  RESULTS="$(cd "$(dirname "$RESULTS")" && pwd)/$(basename "$RESULTS")"
fi
cd "$ROOT"
PY="${PYTHON:-python3}"
[ -x "$ROOT/.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && PY="$ROOT/.venv/bin/python"
declare -A ZONE=([PJM]=America/New_York [ERCO]=America/Chicago [CISO]=America/Los_Angeles [NYIS]=America/New_York)
for grid in PJM ERCO CISO NYIS; do
  for sessions in acn_caltech home_norway; do
    echo "$grid × $sessions" >&2
    "$PY" -m backtest --quiet --grid "$DATA/grid/$grid.csv" --sessions "$DATA/sessions/$sessions.csv" \
      --tz "${ZONE[$grid]}" --json "$OUT/${grid}_${sessions}.json" > "$OUT/${grid}_${sessions}.txt"
  done
  echo "$grid × calendar" >&2
  "$PY" -m backtest --quiet --scenario calendar --seed 1 --grid "$DATA/grid/$grid.csv" --tz "${ZONE[$grid]}" \
    --json "$OUT/${grid}_calendar.json" > "$OUT/${grid}_calendar.txt"
done
for grid in PJM ERCO CISO NYIS; do  # one household's daemon: each charge point learns from its own plug-ins only
  for sessions in acn_caltech home_norway; do
    echo "$grid × $sessions, learning per charge point" >&2
    "$PY" -m backtest --quiet --policy planner --learn station --grid "$DATA/grid/$grid.csv" \
      --sessions "$DATA/sessions/$sessions.csv" --tz "${ZONE[$grid]}" --json "$OUT/${grid}_${sessions}_station.json" \
      > "$OUT/${grid}_${sessions}_station.txt"
  done
done
for sessions in acn_caltech home_norway; do  # two cars on one 48 A circuit (backtest/cars.py)
  echo "PJM × $sessions, 2 cars on 48 A" >&2
  "$PY" -m backtest --quiet --cars 2 --circuit-amps 48 --grid "$DATA/grid/PJM.csv" \
    --sessions "$DATA/sessions/$sessions.csv" --tz America/New_York --json "$OUT/PJM_${sessions}_cars2.json" \
    > "$OUT/PJM_${sessions}_cars2.txt"
done
# Money (BENCHMARK.md): each rate on the grid of its utility's region, every policy planning on the price
declare -A TARIFF_GRID=([pge_bev-2-s]=CISO [dominion_gs-3]=PJM)
for tariff in pge_bev-2-s dominion_gs-3; do
  grid="${TARIFF_GRID[$tariff]}"
  for sessions in acn_caltech home_norway; do
    echo "$tariff ($grid) × $sessions, objective cost" >&2
    "$PY" -m backtest --quiet --grid "$DATA/grid/$grid.csv" --sessions "$DATA/sessions/$sessions.csv" \
      --tz "${ZONE[$grid]}" --tariff "$ROOT/data/tariffs/$tariff.json" --objective cost \
      --json "$OUT/money_${tariff}_${sessions}.json" > "$OUT/money_${tariff}_${sessions}.txt"
  done
done
if [ -n "$RESULTS" ]; then
  "$PY" -m backtest.report "$OUT" > "$TMP"
  mv "$TMP" "$RESULTS"
  trap - EXIT
  echo "wrote $RESULTS" >&2
else
  "$PY" -m backtest.report "$OUT"
fi
