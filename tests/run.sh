#!/usr/bin/env bash
# The whole test suite from a bare machine: makes .venv, installs the project with its test
# extras, installs the OpenSSH client and Chromium if missing, starts a throwaway PostgreSQL on loopback (installing Debian's package if missing),
# runs every test on SQLite and PostgreSQL, and stops the cluster. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# the stock OpenSSH client, one of the two SFTP clients the tests use (Debian's package, as root)
if ! command -v sftp >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian's openssh-client for the SFTP tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y openssh-client >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y openssh-client >/dev/null; }
fi

# Debian's Chromium, which prints the HTML reports to PDF so the tests read what a browser shows (as root)
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian's chromium for the HTML report tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi

pgdir=$(mktemp -d /tmp/hub-pg.XXXXXX)
chmod 755 "$pgdir"
cleanup() { bash tests/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
HUB_TEST_PG_URL=$(bash tests/pg.sh start "$pgdir")
HUB_TEST_PG_DIR=$pgdir  # for the test that restarts it
export HUB_TEST_PG_URL HUB_TEST_PG_DIR
echo "PostgreSQL for the tests: $HUB_TEST_PG_URL"

.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
