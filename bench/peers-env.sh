#!/usr/bin/env bash
# The project-local Python environment of bench/peers.py: .venv-bench/ at the repository root, with
# the `implicit` library's ALS, mlxtend's FP-Growth, DuckDB, numpy and scipy pinned in
# bench/requirements-peers.txt (PyPI only). Idempotent: it reinstalls only when that file changes.
# Prints the environment's python on stdout; everything else goes to stderr.
#
#   PY=$(bash bench/peers-env.sh) && "$PY" bench/peers.py --sizes 1000000 --runs 3
#
# Interpreter: python3.11, else python3 (3.9 to 3.12: the versions implicit 0.7 has wheels for).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv-bench
REQUIREMENTS=bench/requirements-peers.txt
STAMP="$VENV/.requirements.sha256"
CHECK='import implicit, mlxtend, duckdb, numpy, scipy, pandas, threadpoolctl'

usable() { # a python that really runs (a pyenv shim for an inactive version does not) and is 3.9..3.12
  "$1" -c 'import sys, venv; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 12) else 1)' >/dev/null 2>&1
}

pick_python() {
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
  echo "$PWD/$VENV/bin/python"
  exit 0
fi

if ! base=$(pick_python); then
  echo "peers-env: no Python 3.9 to 3.12 found (install python3 and python3-venv)" >&2
  exit 1
fi
echo "peers-env: creating $VENV with $("$base" --version 2>&1) ($base), installing $REQUIREMENTS" >&2
# The stamp, written last, marks a complete environment: one without it (an interrupted install) is rebuilt.
rm -rf "$VENV"
"$base" -m venv "$VENV"
# Wheels only: building implicit or scipy from source would need a compiler and take long.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: -r "$REQUIREMENTS" >&2
echo "$want" > "$STAMP"
"$VENV/bin/python" -c "$CHECK" >&2
echo "$PWD/$VENV/bin/python"
