"""The bounce mailbox read end to end: bounces for digests a real SMTP server received
are delivered into a real Dovecot mailbox, then read by ``digest bounces poll``, by
the service over POP3, and by the Celery task beat schedules, on a real worker."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

from sqlalchemy import select

from digest.config import load_settings
from digest.db.engine import unit_of_work
from digest.db.models import BounceEvent, Subscriber
from digest.services.bounces import intake as bounce_intake
from digest.services.readers.suppressing import suppression_of
from tests.conftest import Cli, SmtpServer, stop
from tests.integration.bounces.dovecot import Dovecot
from tests.integration.services import bounce_mail

LETTER = b"From: ana@example.org\r\nTo: bounces@bounce.example.org\r\nSubject: hello\r\n\r\nHi!\r\n"


def digests_sent(cli: Cli, smtp_server: SmtpServer, *readers: str) -> dict[str, str]:
    """Each reader's envelope sender (their VERP address) of the digest sent them."""
    sent = bounce_mail.digests_sent(cli, smtp_server, *readers)
    return {reader: received.mail_from for reader, received in sent.items()}


def status(db_url: str, email: str) -> tuple[str, str | None]:
    with unit_of_work(db_url) as s:
        sub = s.scalar(select(Subscriber).where(Subscriber.email == email))
        entry = suppression_of(s, email)
        assert sub is not None
        return sub.status, None if entry is None else entry.reason


def test_digest_bounces_poll_reads_the_imap_mailbox_and_empties_it(
    cli: Cli, smtp_server: SmtpServer, dovecot: Dovecot, db_url: str
) -> None:
    envelope = digests_sent(cli, smtp_server, "ana@example.org", "ben@example.org")
    ana = envelope["ana@example.org"]
    # The mail server delivered the bounce to the mailbox with a Delivered-To line.
    hard = bounce_mail.dsn(None, to=ana, recipient="ana@example.org")
    dovecot.deliver(f"Delivered-To: {ana}\r\n".encode() + hard)
    dovecot.deliver(LETTER)
    cli.env["DIGEST_BOUNCE_MAILBOX_URL"] = dovecot.url("imaps")

    out = cli("bounces", "poll")
    assert "fetched 2: 2 messages: 1 hard; 1 suppressed; 0 unmatched" in out
    assert "1 not bounces" in out
    assert dovecot.waiting() == []
    assert status(db_url, "ana@example.org") == ("bounced", "hard_bounce")
    assert status(db_url, "ben@example.org") == ("active", None)
    # Nothing left: a second poll finds nothing and changes nothing.
    assert "fetched 0: 0 messages: nothing new" in cli("bounces", "poll")


def test_a_mailbox_that_cannot_be_read_is_reported_and_the_mail_stays(
    cli: Cli, dovecot: Dovecot
) -> None:
    dovecot.deliver(LETTER)
    cli.env["DIGEST_BOUNCE_MAILBOX_URL"] = dovecot.url("imap", password="wrong-secret")
    out = cli("bounces", "poll", ok=False)
    assert "cannot log in" in out and "wrong-secret" not in out
    assert dovecot.waiting() == [LETTER]
    cli.env["DIGEST_BOUNCE_MAILBOX_URL"] = "ftp://mail.example.org/"
    assert "DIGEST_BOUNCE_MAILBOX_URL" in cli("bounces", "poll", ok=False)
    del cli.env["DIGEST_BOUNCE_MAILBOX_URL"]
    assert "set DIGEST_BOUNCE_MAILBOX_URL" in cli("bounces", "poll", ok=False)


def test_the_service_reads_pop3_and_a_complaint_unsubscribes(
    cli: Cli, smtp_server: SmtpServer, dovecot: Dovecot, db_url: str, settings
) -> None:  # type: ignore[no-untyped-def]
    digests_sent(cli, smtp_server, "ana@example.org")
    [original] = smtp_server.received
    dovecot.deliver(bounce_mail.arf(original, recipient="ana@example.org"))
    current = dataclasses.replace(settings, bounce_mailbox_url=dovecot.url("pop3s"))
    polled = bounce_intake.poll_mailbox(db_url, current, lambda: original.message["Date"].datetime)
    assert polled is not None
    assert (polled.fetched, polled.failed, polled.intake.kinds["complaint"]) == (1, 0, 1)
    assert status(db_url, "ana@example.org") == ("unsubscribed", "complaint")
    assert dovecot.waiting() == []


def test_beat_schedules_the_poll_and_a_worker_runs_it(
    cli: Cli, smtp_server: SmtpServer, dovecot: Dovecot, db_url: str
) -> None:
    from workers.schedule import beat_schedule

    assert "poll-bounce-mailbox" not in beat_schedule(load_settings({}))
    configured = load_settings(
        {
            "DIGEST_BOUNCE_MAILBOX_URL": dovecot.url("imap"),
            "DIGEST_BOUNCE_POLL_INTERVAL": "120",
        }
    )
    entry = beat_schedule(configured)["poll-bounce-mailbox"]
    assert entry == {"task": "digest.poll_bounces", "schedule": 120.0}

    envelope = digests_sent(cli, smtp_server, "ana@example.org")
    full = bounce_mail.dsn(
        None,
        to=envelope["ana@example.org"],
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 Mailbox full",
    )
    dovecot.deliver(f"Delivered-To: {envelope['ana@example.org']}\r\n".encode() + full)
    cli.env["DIGEST_BOUNCE_MAILBOX_URL"] = dovecot.url("imap")
    worker = cli.worker("bounces")
    try:
        subprocess.run(
            [sys.executable, "-c", "from workers.tasks import poll_bounces; poll_bounces.delay()"],
            env=cli.env,
            cwd=cli.cwd,
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 60
        while dovecot.waiting() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(worker)
    assert dovecot.waiting() == []
    with unit_of_work(db_url) as s:
        [event] = s.scalars(select(BounceEvent)).all()
        assert (event.source, event.kind, event.matched_by) == ("mailbox", "soft", "verp")
        assert event.outcome == "counted: soft 5.2.2 (mailbox_full), 1 of 3 within 14 days"
