"""Bounces taken in by the ``digest`` command: ``digest bounces serve`` receiving them
by SMTP and LMTP for digests a real SMTP server received, and ``digest bounces
import`` reading a maildir of real bounces."""

from __future__ import annotations

import email.utils
import re
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import BounceEvent, Delivery, Subscriber
from digest.mail.capture import free_port
from digest.services.readers.suppressing import suppression_of
from tests.conftest import Cli, Received, SmtpServer, stop
from tests.e2e.browser import start_console
from tests.integration.services import bounce_mail
from tests.integration.web.test_admin_access import admin, sign_in

pytestmark = pytest.mark.slow

READERS = ("ana@example.org", "ben@example.org", "cy@example.org", "dee@example.org")
BOUNCE_DOMAIN = bounce_mail.BOUNCE_DOMAIN


def digests_sent(cli: Cli, smtp_server: SmtpServer) -> dict[str, Received]:
    """A digest to each reader, with VERP on and a soft-bounce limit of 2."""
    cli.env["DIGEST_SOFT_BOUNCE_LIMIT"] = "2"
    return bounce_mail.digests_sent(cli, smtp_server, *READERS)


@pytest.fixture
def serve(cli: Cli) -> Iterator[object]:
    """Starts ``digest bounces serve`` (SMTP, or LMTP with ``lmtp=True``); yields a
    function that returns its port."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(lmtp: bool = False) -> int:
        port = free_port()
        args = ["bounces", "serve", "--port", str(port)] + (["--lmtp"] if lmtp else [])
        log = open(cli.cwd / f"serve-{port}.log", "wb")  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "digest.cli", *args],
            env=cli.env,
            cwd=cli.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError((cli.cwd / f"serve-{port}.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.1)
        raise AssertionError("digest bounces serve did not start listening")

    yield start
    for process in processes:
        stop(process)


def state(db_url: str, email: str) -> tuple[str, str | None, str | None]:
    """(subscriber status, their delivery's bounce kind, suppression reason)."""
    with unit_of_work(db_url) as s:
        sub = s.scalar(select(Subscriber).where(Subscriber.email == email))
        delivery = s.scalar(select(Delivery).where(Delivery.email == email))
        entry = suppression_of(s, email)
        assert sub is not None and delivery is not None
        return sub.status, delivery.bounce_kind, None if entry is None else entry.reason


def test_bounces_received_by_smtp_mark_the_delivery_unsubscribe_and_suppress(  # type: ignore[no-untyped-def]
    cli: Cli, smtp_server: SmtpServer, serve, db_url: str
) -> None:
    sent = digests_sent(cli, smtp_server)
    port = serve()
    with smtplib.SMTP("127.0.0.1", port) as relay:
        # Postfix returning ana's digest: the envelope recipient is the VERP address.
        ana = sent["ana@example.org"]
        relay.sendmail(
            "",
            [ana.mail_from],
            bounce_mail.dsn(None, to=ana.mail_from, recipient="ana@example.org"),
        )
        # A feedback loop reporting ben's complaint to the bounce domain.
        ben = sent["ben@example.org"]
        relay.sendmail(
            "",
            [f"fbl@{BOUNCE_DOMAIN}"],
            bounce_mail.arf(ben, recipient="ben@example.org", to=f"fbl@{BOUNCE_DOMAIN}"),
        )
        # A soft bounce for cy's digest and for dee's (the limit here is 2).
        for reader in ("cy@example.org", "dee@example.org"):
            relay.sendmail("", [sent[reader].mail_from], mailbox_full(sent[reader], 1))
        # This server relays nothing: other domains are refused at RCPT.
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            relay.sendmail("", ["someone@example.com"], b"Subject: hi\r\n\r\nhi\r\n")
        assert refused.value.recipients["someone@example.com"][0] == 550

    assert state(db_url, "ana@example.org") == ("bounced", "hard", "hard_bounce")
    assert state(db_url, "ben@example.org") == ("unsubscribed", "complaint", "complaint")
    assert state(db_url, "cy@example.org") == ("active", "soft", None)
    assert state(db_url, "dee@example.org") == ("active", "soft", None)

    # The next digests go to cy and dee only; cy's bounces too: the second suppresses.
    second = next_digests(cli, smtp_server, "b", "2026-03-18T07:00:00+00:00")
    assert sorted(second) == ["cy@example.org", "dee@example.org"]
    with smtplib.SMTP("127.0.0.1", port) as relay:
        relay.sendmail(
            "", [second["cy@example.org"].mail_from], mailbox_full(second["cy@example.org"], 2)
        )
    assert state(db_url, "cy@example.org") == ("bounced", "soft", "soft_bounce")
    events = cli("bounces", "list")
    assert "[verp] suppressed: hard bounce 5.1.1 (user_unknown)" in events
    assert "[header] unsubscribed: complaint" in events
    assert "[verp] suppressed: 2 soft bounces within 14 days" in events
    assert "[verp] counted: soft 5.2.2 (mailbox_full), 1 of 2 within 14 days" in events
    assert list(next_digests(cli, smtp_server, "c", "2026-03-19T07:00:00+00:00")) == [
        "dee@example.org"
    ]


def mailbox_full(digest: Received, n: int) -> bytes:
    recipient = digest.rcpt_tos[0]
    return bounce_mail.dsn(
        None,
        to=digest.mail_from,
        recipient=recipient,
        status="5.2.2",
        diagnostic=f"552 5.2.2 Mailbox full ({n})",
    )


def next_digests(cli: Cli, smtp_server: SmtpServer, slug: str, slot: str) -> dict[str, Received]:
    """A new article, then the slot at ``slot``: the digests sent, by recipient."""
    before = len(smtp_server.received)
    cli(
        "articles",
        "import",
        "-",
        input=f'{{"url": "https://news.example.org/{slug}", "title": "{slug}", "summary": "s",'
        f' "published_at": "{slot[:10]}T01:00:00Z", "topics": ["news"]}}',
    )
    cli("run", "--now", slot)
    return {r.rcpt_tos[0]: r for r in smtp_server.received[before:]}


def lmtp_exchange(port: int, rcpts: list[str], data: bytes) -> list[bytes]:
    """One LMTP transaction by hand; the replies to DATA, one line per recipient."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        reader = conn.makefile("rb")

        def reply() -> bytes:
            lines = [reader.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(reader.readline())
            return lines[-1]

        assert reply().startswith(b"220")
        conn.sendall(b"LHLO test.example.net\r\n")
        assert reply().startswith(b"250")
        conn.sendall(b"MAIL FROM:<>\r\n")
        assert reply().startswith(b"250")
        for rcpt in rcpts:
            conn.sendall(f"RCPT TO:<{rcpt}>\r\n".encode())
            assert reply().startswith(b"250")
        conn.sendall(b"DATA\r\n")
        assert reply().startswith(b"354")
        conn.sendall(data + b".\r\n")
        return [reply() for _ in rcpts]


def test_lmtp_answers_each_recipient_and_each_verp_address_names_its_delivery(  # type: ignore[no-untyped-def]
    cli: Cli, smtp_server: SmtpServer, serve, db_url: str
) -> None:
    sent = digests_sent(cli, smtp_server)
    port = serve(lmtp=True)
    # One returned message delivered to two VERP addresses (a mail server that
    # batched them): each copy names its own delivery.
    ana, ben = sent["ana@example.org"], sent["ben@example.org"]
    report = bounce_mail.dsn(None, to=f"bounces@{BOUNCE_DOMAIN}", recipient="unknown@example.org")
    replies = lmtp_exchange(port, [ana.mail_from, ben.mail_from], report)
    assert [r[:3] for r in replies] == [b"250", b"250"]
    # Each VERP address says whose digest came back, whatever the text names.
    assert state(db_url, "ana@example.org") == ("bounced", "hard", "hard_bounce")
    assert state(db_url, "ben@example.org") == ("bounced", "hard", "hard_bounce")
    with unit_of_work(db_url) as s:
        events = s.scalars(select(BounceEvent).order_by(BounceEvent.id)).all()
        assert [(e.source, e.matched_by) for e in events] == [("lmtp", "verp"), ("lmtp", "verp")]
        delivered = {d.id: d.email for d in s.scalars(select(Delivery))}
        assert sorted(delivered[e.delivery_id] for e in events if e.delivery_id) == [
            "ana@example.org",
            "ben@example.org",
        ]


def test_import_reads_a_maildir_of_real_bounces_and_a_second_import_changes_nothing(
    cli: Cli, shared_path, db_url: str
) -> None:
    maildir: Path = shared_path("corpora/bounces/maildir/bsd")
    first = cli("bounces", "import", str(maildir))
    messages = len([p for p in maildir.rglob("*") if p.is_file()])
    assert f"{maildir}: {messages} messages:" in first
    with unit_of_work(db_url) as s:
        stored = s.scalars(select(BounceEvent)).all()
    kinds = {e.kind for e in stored}
    assert {"hard", "soft", "complaint"} <= kinds
    assert len(stored) >= messages // 2
    # Nothing matches a subscriber here: every event is kept as unmatched.
    assert {e.matched_by for e in stored} == {"none"}
    again = cli("bounces", "import", str(maildir))
    assert f"{messages} messages: nothing new; no action; 0 unmatched" in again
    with unit_of_work(db_url) as s:
        assert len(s.scalars(select(BounceEvent)).all()) == len(stored)


def test_import_names_a_path_that_is_not_a_mailbox(cli: Cli, tmp_path: Path) -> None:
    out = cli("bounces", "import", str(tmp_path / "missing.mbox"), ok=False)
    assert "missing.mbox" in out and "does not exist" in out


# Real replies that blame our sending (the corpus's words), each returned to one reader.
SENDER_SIDE = {
    "ana@example.org": ("bsd/lhost-qmail-04.eml", "rejected"),  # "my name was rejected"
    "ben@example.org": ("bsd/lhost-outlook-09.eml", "blocked"),  # mismatches client ip
    "cy@example.org": ("bsd/rhost-google-06.eml", "blocked"),  # no PTR record
    "dee@example.org": ("bsd/rhost-microsoft-04.eml", "auth_failure"),  # DMARC reject
}


def arriving_now(data: bytes) -> bytes:
    """A corpus message as if it were written now (reports are dated by their Date),
    with the CRLF line ends SMTP carries."""
    data = re.sub(rb"\r?\n", b"\r\n", data)
    head, sep, body = data.partition(b"\r\n\r\n")
    now = email.utils.format_datetime(datetime.now(UTC)).encode()
    head = re.sub(rb"(?mi)^Date:[^\r]*", b"Date: " + now, head, count=1)
    return head + sep + body


def test_replies_that_blame_our_sending_suppress_nobody_and_alert_the_operator(  # type: ignore[no-untyped-def]
    cli: Cli, smtp_server: SmtpServer, serve, db_url: str, shared_path, tmp_path: Path
) -> None:
    # The soft limit at 1: were these counted against readers, one would suppress.
    cli.env["DIGEST_SOFT_BOUNCE_LIMIT"] = "1"
    sent = bounce_mail.digests_sent(cli, smtp_server, *SENDER_SIDE)
    port = serve()
    corpus = shared_path("corpora/bounces/maildir")
    with smtplib.SMTP("127.0.0.1", port) as relay:
        for reader, (name, _) in SENDER_SIDE.items():
            relay.sendmail("", [sent[reader].mail_from], arriving_now((corpus / name).read_bytes()))

    with unit_of_work(db_url) as s:
        events = {e.delivery_id: e for e in s.scalars(select(BounceEvent))}
        deliveries = {d.email: d.id for d in s.scalars(select(Delivery))}
    for reader, (_, reason) in SENDER_SIDE.items():
        event = events[deliveries[reader]]
        assert (event.matched_by, event.reason, event.kind) == ("verp", reason, "soft")
        assert event.outcome.startswith("no action: blames our sending")
        assert state(db_url, reader) == ("active", "soft", None)

    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            assert sign_in(client, "ops@example.org").status_code == 303
            page = client.get("/admin").text
    finally:
        stop(web)
    alert = page[page.index('role="alert"') :]
    assert "Receivers refused our sending: 4 reports in the last 7 days" in alert
    assert "SPF, DKIM and DMARC records" in alert
