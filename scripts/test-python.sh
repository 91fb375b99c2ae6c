#!/usr/bin/env bash
# Python tests of spark-jobs/ (the PySpark jobs' shared package, the archive build, Python 3.9
# compatibility). Runs on Debian's /usr/bin/python3 with Debian's pytest: PyPI is not reachable
# from these machines, apt is. The tests need only the standard library; the pyspark test is
# reported SKIPPED where pyspark is not installed.
#
#   bash scripts/test-python.sh     (from anywhere; runs from the repository root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=/usr/bin/python3
if [ ! -x "$PYTHON" ]; then
  echo "python-tests: $PYTHON is missing (apt-get install python3)" >&2
  exit 1
fi

if ! "$PYTHON" -m pytest --version >/dev/null 2>&1; then
  echo "python-tests: installing python3-pytest with apt-get" >&2
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when the install cannot be done with the ones already here.
  if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends python3-pytest >/dev/null 2>&1; then
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends python3-pytest >/dev/null
  fi
  "$PYTHON" -m pytest --version >/dev/null
fi

echo "python-tests: $("$PYTHON" --version), $("$PYTHON" -m pytest --version 2>&1 | head -n 1)"
status=0
"$PYTHON" -m pytest spark-jobs/tests -q -rs || status=$?
if [ "$status" -eq 5 ]; then
  echo "python-tests: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
