#!/usr/bin/env bash
# The quick loop while coding: the whole suite but the month-long soak, the browser tests and the fresh-venv
# install test (about a minute). `bash scripts/test.sh` runs everything, as CI does.
set -euo pipefail
exec bash "$(dirname "$0")/test.sh" -m "not soak and not browser and not slow" "$@"
