#!/usr/bin/env bash
# System tools the tests run for real (never mocked): headless Chromium opens the HTML report,
# a MariaDB server stands in for Aurora MySQL, Java 17 runs Spark (pyspark itself comes from PyPI
# into .venv-spark: scripts/python-env.sh). Installed from Debian with apt when missing; the
# tests start MariaDB themselves on a private data directory and socket, so no service is enabled.
#
#   bash scripts/ensure-test-tools.sh     (npm test runs it first)
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "test-tools: installing ${missing[*]} with apt-get" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when the install cannot be done with the ones already here.
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
