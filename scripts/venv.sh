# Sourced by scripts/demo.sh and scripts/test.sh: makes the project's virtual environment, .venv (or $VENV), if it is
# missing, installs the requirements file given as $1 into it when that file changed since the last install, and
# sets PY to its python. Stock Debian 12 / Raspberry Pi OS has `python3` but no `python`, refuses `pip install`
# outside a venv (externally-managed-environment) and ships `venv` without pip until python3-venv is installed.
VENV="${VENV:-.venv}"
REQUIREMENTS="${1:?usage: . scripts/venv.sh REQUIREMENTS_FILE}"

_pick_python() {
  local candidate
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  BASE="$(_pick_python)" || { echo "error: this needs Python 3.11 or newer as python3.11 or python3" >&2; exit 2; }
  if ! "$BASE" -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian and Ubuntu keep ensurepip in a separate package.
    PKG="python3-venv"
    "$BASE" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' && PKG="python3.11-venv"
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "error: $BASE -m venv does not work here (no ensurepip): install your system's $PKG package" >&2
      exit 2
    fi
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing Debian's $PKG (python3 -m venv needs it)" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$PKG" >/dev/null
  fi
  echo "creating the virtual environment $VENV" >&2

  "$BASE" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Install only when the requirements changed (their hash is kept in the venv), so a second run starts at once.
_stamp="$VENV/.installed-$(basename "$REQUIREMENTS")"
_hash="$(cat requirements*.txt | "$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_hash" ]; then
  echo "installing $REQUIREMENTS into $VENV" >&2
  "$PY" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$_hash" > "$_stamp"
fi
unset _stamp _hash
