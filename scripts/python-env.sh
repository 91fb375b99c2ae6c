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
. scripts/venv.sh

ensure_venv python-env .venv-spark spark-jobs/requirements-test.txt 'import pyspark, numpy, pytest, moto.server' 3.9 3.11 "" \
  python3.9 /root/.pyenv/versions/3.9*/bin/python3.9 /usr/local/bin/python3.9 /usr/bin/python3.9 python3.11 python3
