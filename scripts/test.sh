#!/usr/bin/env bash
# The whole test suite on a fresh machine: the project's virtual environment (.venv, made and filled with
# requirements-dev.txt if missing), Debian's Chromium for the dashboard's browser tests, ruff, mypy, then pytest.
# Extra arguments go to pytest. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
"$PY" -m ruff check .
# Types (config in pyproject.toml): the pure core and the clients strict, the rest as written.
"$PY" -m mypy --strict charge_logic clients
"$PY" -m mypy service dashboard cli backtest
"$PY" -m pytest -p no:cacheprovider "$@"
