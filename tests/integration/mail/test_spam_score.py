"""The emails as sent, scored by SpamAssassin's local rules (``spamassassin -L -t``,
Debian's package, installed by tests/run.sh when missing): 0.0 points each."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from tests.integration.web.helpers import browser, subscribe

pytestmark = pytest.mark.slow

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
SCORE = re.compile(r"Content analysis details:\s+\((-?\d+\.\d+) points")


def spam_score(message: bytes) -> tuple[float, str]:
    """SpamAssassin's score of ``message``, and its report."""
    binary = shutil.which("spamassassin")
    assert binary, "SpamAssassin is missing: bash tests/run.sh installs Debian's package"
    done = subprocess.run(
        [binary, "-L", "-t"], input=message, capture_output=True, timeout=120, check=False
    )
    report = done.stdout.decode(errors="replace")
    found = SCORE.search(report)
    assert found, report[-2000:]
    return float(found.group(1)), report[report.index("Content analysis details") :]


def test_the_digest_and_the_confirmation_score_nothing(world, mail_settings, smtp_server) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(
        mail_settings,
        brand=dataclasses.replace(
            mail_settings.brand, postal_address="Example News, 1 Sample Street, Brussels"
        ),
    )
    world.topics("tech")
    for i in range(8):
        world.article(f"story-{i}", SLOT - timedelta(hours=2 + i), ["tech"])
    world.subscriber("ben@example.org", "tech", T0)
    sender = SMTPSender.from_url(settings.smtp_url)
    assert pipeline.run(settings.database_url, settings, sender, lambda: SLOT).sent == 1
    answer = subscribe(browser(settings), "ana@example.org", {"tech": "daily"})
    assert answer.status_code == 200
    sent = {r.rcpt_tos[0]: r.data for r in smtp_server.received}
    for reader, what in (("ben@example.org", "digest"), ("ana@example.org", "confirmation")):
        score, report = spam_score(sent[reader])
        assert score <= 0.0, f"the {what} scores {score}:\n{report}"
