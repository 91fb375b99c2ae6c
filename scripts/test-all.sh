#!/usr/bin/env bash
# Every test of the project: the TypeScript type check, jest (constructs, cdk-nag, the state machine run locally, the Lambdas
# against s3rver and DuckDB, the CLI synth) and pytest (spark-jobs). `npm test` runs this; it
# installs what the Python tests need from apt when missing (see scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Spark code archive the stack deploys; `npm ci` builds it, this keeps a stale one out.
python3 scripts/build-spark-archive.py >/dev/null
# Chromium (report test) and MariaDB (serving tests) from apt when missing.
bash scripts/ensure-test-tools.sh

status=0
# ts-jest transpiles each file alone; the whole project is type-checked here once.
npx tsc --noEmit -p . || status=$?
npx jest --ci || status=$?
bash scripts/test-python.sh || status=$?
exit "$status"
