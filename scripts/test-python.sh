#!/usr/bin/env bash
# Python tests of spark-jobs/: the PySpark jobs on a local SparkSession and through spark-submit,
# their parity with the local engine, the archive build and Python 3.9 compatibility. Runs in the
# project-local environment that scripts/python-env.sh creates (pyspark pinned to the EMR
# release's Spark, numpy, pytest, from PyPI). Spark needs Java 17 on PATH.
#
#   bash scripts/test-python.sh [pytest args]     (from anywhere; runs from the repository root)
#
# Under CI (CI=true) nothing is skipped: a test that would skip fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v java >/dev/null 2>&1; then
  echo "python-tests: java is missing (Spark needs Java 17: apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
PYTHON=$(bash scripts/python-env.sh)
# The driver and the executors' Python workers must be the same interpreter.
export PYSPARK_PYTHON="$PYTHON" PYSPARK_DRIVER_PYTHON="$PYTHON"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
# Every test JVM (spark-submit children and in-process sessions) with the C1 compiler only and the
# serial collector: the short local runs take about half the CPU (the rehearsal does the same, see
# LOCAL_JVM_OPTIONS in local/rehearse/emr-standin.ts), and 8 MB thread stacks, which ALS's recursive
# lineage deserialisation needs with C1's larger frames. Results do not depend on it.
export SPARK_SUBMIT_OPTS="${SPARK_SUBMIT_OPTS:+$SPARK_SUBMIT_OPTS }-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss8m"

echo "python-tests: $("$PYTHON" --version), pyspark $("$PYTHON" -c 'import pyspark; print(pyspark.__version__)'), $("$PYTHON" -m pytest --version 2>&1 | head -n 1)"
status=0
"$PYTHON" -m pytest spark-jobs/tests -q -rs -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "python-tests: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
