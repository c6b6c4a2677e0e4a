#!/usr/bin/env bash
# Remakes requirements.lock: every package the Docker image installs, at its exact version. It installs
# requirements.txt into a throw-away python3.11 venv and freezes it; the image installs with `-c requirements.lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3.11 -m venv "$tmp/venv" 2>/dev/null || python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check -r requirements.txt
{
  echo "# Every package the Docker image installs, at the exact version: pip freeze of a fresh python3.11 venv after"
  echo "# 'pip install -r requirements.txt' (remake: scripts/lock.sh). requirements.txt stays the list of direct dependencies."
  "$tmp/venv/bin/pip" freeze --exclude charge-scheduler
} > "$tmp/requirements.lock"
mv "$tmp/requirements.lock" requirements.lock
echo "requirements.lock: $(grep -c '==' requirements.lock) packages"
