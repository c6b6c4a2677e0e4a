#!/usr/bin/env bash
# The scheduler once on its embedded demo (a simulated car, a sample calendar, a real week of grid forecast; no
# credentials, no network), in the project's own virtual environment (.venv, made and filled if missing).
# The demo keeps its state in STATE_DIR/demo (./state/demo), never in the live scheduler's folder.
#   bash scripts/demo.sh                 # python scheduler.py --demo --once -v
#   bash scripts/demo.sh -v -i 1         # python scheduler.py --demo -v -i 1: a tick a minute until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh requirements.txt
if [ "$#" -eq 0 ]; then
  set -- --once -v
fi
exec "$PY" scheduler.py --demo "$@"
