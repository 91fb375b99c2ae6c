#!/usr/bin/env bash
# The project-local Python environment of bench/peers.py: .venv-bench/ at the repository root, with
# the `implicit` library's ALS, mlxtend's FP-Growth, DuckDB, numpy and scipy, every package pinned in
# bench/requirements-peers.txt (PyPI, wheels only: building implicit or scipy would need a compiler).
# Idempotent: it reinstalls only when that file changes. Prints the environment's python on stdout;
# everything else goes to stderr.
#
#   PY=$(bash bench/peers-env.sh) && "$PY" bench/peers.py --sizes 1000000 --runs 3
#
# Interpreter: python3.11, else python3 (3.9 to 3.12: the versions implicit 0.7.3 has wheels for).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/venv.sh

ensure_venv peers-env .venv-bench bench/requirements-peers.txt 'import implicit, mlxtend, duckdb, numpy, scipy, pandas, threadpoolctl' 3.9 3.12 \
  "--only-binary=:all:" python3.11 python3
