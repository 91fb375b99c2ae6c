#!/usr/bin/env bash
# The project-local Python environment of the Spark tests and the local Spark runs: .venv-spark/ at
# the repository root, with pyspark (the Spark of the EMR release the stack deploys), numpy,
# pytest and moto's S3 server (the rehearsal's emulator) from spark-jobs/requirements-test.txt. Idempotent: it reinstalls only when that file
# changes. Prints the environment's python on stdout; everything else goes to stderr.
#
#   PY=$(bash scripts/python-env.sh)      (npm test runs it through scripts/test-python.sh)
#
# Interpreter: Python 3.9 when the machine has one (EMR 7 runs 3.9), else python3 (3.9 to 3.11:
# the versions pyspark 3.5 supports). Java 17 must be on PATH for Spark itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv-spark
REQUIREMENTS=spark-jobs/requirements-test.txt
STAMP="$VENV/.requirements.sha256"

usable() { # a python that really runs (a pyenv shim for an inactive version does not) and is 3.9..3.11
  "$1" -c 'import sys, venv; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 11) else 1)' >/dev/null 2>&1
}

pick_python() {
  local candidate
  for candidate in python3.9 /root/.pyenv/versions/3.9*/bin/python3.9 /usr/local/bin/python3.9 /usr/bin/python3.9 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c 'import pyspark, numpy, pytest, moto.server' >/dev/null 2>&1; then
  echo "$PWD/$VENV/bin/python"
  exit 0
fi

if ! base=$(pick_python); then
  echo "python-env: no Python 3.9 to 3.11 found (install python3 and python3-venv)" >&2
  exit 1
fi
echo "python-env: creating $VENV with $("$base" --version 2>&1) ($base), installing $REQUIREMENTS" >&2
# The stamp, written last, marks a complete environment: one without it (an interrupted install) is rebuilt.
rm -rf "$VENV"
"$base" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS" >&2
echo "$want" > "$STAMP"
"$VENV/bin/python" -c 'import pyspark, numpy, pytest, moto.server' >&2
echo "$PWD/$VENV/bin/python"
