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

# The bounce mailbox tests read from a private Dovecot (Debian packages; the tests start
# their own instance, the system service is not used).
if [ ! -x /usr/sbin/dovecot ] && command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq dovecot-imapd dovecot-pop3d >/dev/null
fi

# The spam-score test runs SpamAssassin's local rules on the emails as sent (Debian's
# package; no network, no daemon).
if ! command -v spamassassin >/dev/null && command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq spamassassin >/dev/null
fi

python -m pytest "$@"
