"""Fixtures for the bounce mailbox poller: a private Dovecot for the session, and its
mailbox emptied for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.bounces.dovecot import (
    Dovecot,
    DovecotFailed,
    dovecot_binary,
    running_dovecot,
    version,
)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip(
            "dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d "
            "(tests/run.sh installs them)"
        )
    found = version(binary)
    if found >= (2, 4):
        pytest.fail(
            f"dovecot {'.'.join(map(str, found))} is installed; the test configuration is "
            "written in the 2.3 syntax, which 2.4 no longer reads"
        )
    try:
        with running_dovecot(binary) as server:
            yield server
    except DovecotFailed as failed:
        pytest.fail(str(failed))


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The server with an empty mailbox."""
    dovecot_server.empty()
    return dovecot_server
