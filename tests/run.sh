#!/usr/bin/env bash
# Install digest with its test dependencies into ./.venv and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k schedule`.
# DIGEST_TEST_DATABASE_URL=postgresql+psycopg://... runs the database tests on PostgreSQL;
# DIGEST_TEST_BROKER_URL=redis://... uses that Redis as the broker (else an embedded one).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -c constraints.txt -e '.[test]'

# The browser tests drive the system Chromium (Debian package), not a downloaded one.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi

python -m pytest "$@"
