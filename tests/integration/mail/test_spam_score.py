"""The emails as sent, scored by SpamAssassin's local rules (``spamassassin -L -t``,
Debian's package, installed by tests/run.sh when missing): 0.0 points each, in every
language readers can choose."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.domain.languages import LANGUAGES
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


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_digest_and_the_confirmation_score_nothing(  # type: ignore[no-untyped-def]
    world, mail_settings, smtp_server, db_url, language: str
) -> None:
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
    with unit_of_work(db_url) as s:
        s.execute(update(Subscriber).values(language=language))
    sender = SMTPSender.from_url(settings.smtp_url)
    assert pipeline.run(settings.database_url, settings, sender, lambda: SLOT).sent == 1
    answer = subscribe(browser(settings), "ana@example.org", {"tech": "daily"}, language=language)
    assert answer.status_code == 200
    sent = {r.rcpt_tos[0]: r.data for r in smtp_server.received}
    for data in sent.values():  # the emails are in the reader's language
        message = email.message_from_bytes(data, policy=email.policy.default)
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert f'<html lang="{language}"' in html
    for reader, what in (("ben@example.org", "digest"), ("ana@example.org", "confirmation")):
        score, report = spam_score(sent[reader])
        assert score <= 0.0, f"the {what} scores {score}:\n{report}"
