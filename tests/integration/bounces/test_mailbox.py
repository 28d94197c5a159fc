"""The bounce mailbox poller against a real Dovecot over IMAP and POP3, plain, TLS and
STARTTLS: byte-exact fetching, removal only after handling, limits, concurrent pollers,
failures."""

from __future__ import annotations

import imaplib
import re
import tracemalloc
from pathlib import Path

import pytest

from digest.mail.mailbox import MailboxConfig, MailboxError, PollReport, poll
from tests.conftest import free_port
from tests.integration.bounces.dovecot import PASSWORD, USER, Dovecot

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpora" / "bounces" / "maildir" / "bsd"
BOUNCES = (
    "lhost-sendmail-01.eml",  # LF line ends, lines starting with "." (POP3 dot-stuffing)
    "lhost-postfix-30.eml",  # CRLF line ends
    "lhost-mailru-01.eml",  # 8-bit bytes
    "rhost-aol-01.eml",  # 64 kB with dot lines
)
SCHEMES = ("imap", "imaps", "imap+starttls", "pop3", "pop3s", "pop3+starttls")


def wire(raw: bytes) -> bytes:
    """The message as a server sends it: CRLF line ends."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def message(n: int, body: bytes = b"") -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example.net\nTo: bounces@news.example.org\n"
        b"Subject: Undelivered Mail Returned to Sender %d\n\n" % n
    ) + (body or b"message %d\n" % n)


class Collect:
    """A handle that keeps what it is given and raises for messages holding ``fail_on``."""

    def __init__(self, fail_on: bytes | None = None) -> None:
        self.fail_on = fail_on
        self.seen: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.seen.append(data)
        if self.fail_on is not None and self.fail_on in data:
            raise ValueError("no recipient found in this report")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_messages_arrive_byte_exact_and_handled_ones_are_removed(
    dovecot: Dovecot, scheme: str
) -> None:
    delivered = [(CORPUS / name).read_bytes() for name in BOUNCES]
    # A line longer than poplib's 2048-byte limit, as in HTML bounce parts.
    delivered.append(message(5, b"<p>" + b"x" * 5000 + b"</p>\n"))
    for raw in delivered:
        dovecot.deliver(raw)
    handle = Collect()

    report = poll(MailboxConfig.from_url(dovecot.url(scheme)), handle)

    assert sorted(handle.seen) == sorted(wire(raw) for raw in delivered)
    assert report == PollReport(fetched=5, handled=5, failed=0, errors=[], left=0)
    assert dovecot.waiting() == []
    assert poll(MailboxConfig.from_url(dovecot.url(scheme)), Collect()).fetched == 0


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_message_whose_handling_fails_stays_for_the_next_poll(
    dovecot: Dovecot, scheme: str
) -> None:
    for n in range(3):
        dovecot.deliver(message(n))
    config = MailboxConfig.from_url(dovecot.url(scheme))

    first = poll(config, Collect(fail_on=b"message 1"))

    assert (first.fetched, first.handled, first.failed) == (3, 2, 1)
    assert len(first.errors) == 1
    assert "ValueError: no recipient found in this report" in first.errors[0]
    assert dovecot.waiting() == [message(1)]

    again = Collect()
    second = poll(config, again)
    assert again.seen == [wire(message(1))]
    assert (second.handled, second.failed) == (1, 0)
    assert dovecot.waiting() == []


def test_imap_leaves_a_failed_message_unread(dovecot: Dovecot) -> None:
    dovecot.deliver(message(1))
    poll(MailboxConfig.from_url(dovecot.url("imap")), Collect(fail_on=b"message 1"))
    [name] = dovecot.file_names()
    flags = name.partition(":2,")[2]
    assert "S" not in flags  # fetched with BODY.PEEK[], so not \Seen


@pytest.mark.parametrize("scheme", ("imap", "pop3"))
def test_limit_is_respected_and_the_rest_reported_as_left(dovecot: Dovecot, scheme: str) -> None:
    for n in range(5):
        dovecot.deliver(message(n))
    config = MailboxConfig.from_url(dovecot.url(scheme))

    first = poll(config, Collect(), limit=2)
    assert (first.fetched, first.handled, first.left) == (2, 2, 3)
    assert len(dovecot.waiting()) == 3

    second = poll(config, Collect(), limit=10)
    assert (second.fetched, second.handled, second.left) == (3, 3, 0)
    assert dovecot.waiting() == []


def test_imap_skips_messages_another_poller_has_flagged_deleted(dovecot: Dovecot) -> None:
    for n in range(2):
        dovecot.deliver(message(n))
    other = imaplib.IMAP4("127.0.0.1", dovecot.ports["imap"], timeout=10)
    other.login(USER, PASSWORD)
    other.select("INBOX")
    other.store("1:2", "+FLAGS.SILENT", r"(\Deleted)")  # handled, not yet expunged
    other.logout()
    later = [message(n) for n in range(2, 6)]
    for raw in later:
        dovecot.deliver(raw)
    handle = Collect()

    report = poll(MailboxConfig.from_url(dovecot.url("imap")), handle, limit=2)

    assert len(handle.seen) == 2 and set(handle.seen) <= {wire(raw) for raw in later}
    assert (report.fetched, report.left) == (2, 2)
    # The poll's CLOSE expunged the two flagged messages along with its own.
    assert dovecot.waiting() == sorted(raw for raw in later if wire(raw) not in handle.seen)


def test_two_imap_pollers_at_once_lose_nothing(dovecot: Dovecot) -> None:
    for n in range(2):
        dovecot.deliver(message(n))
    config = MailboxConfig.from_url(dovecot.url("imap"))
    inner = Collect()
    inner_reports: list[PollReport] = []
    outer_seen: list[bytes] = []

    def outer(data: bytes) -> None:
        # While this poller holds message 0, another one empties the mailbox.
        outer_seen.append(data)
        if not inner_reports:
            inner_reports.append(poll(config, inner))

    report = poll(config, outer)

    assert sorted(inner.seen) == [wire(message(0)), wire(message(1))]
    assert outer_seen == [inner.seen[0]]  # message 1 was gone when its turn came
    assert report == PollReport(fetched=1, handled=1, failed=0, errors=[], left=0)
    assert dovecot.waiting() == []


@pytest.mark.parametrize("scheme", ("imap", "pop3"))
def test_a_large_mailbox_is_read_one_message_at_a_time(dovecot: Dovecot, scheme: str) -> None:
    size = 64 * 1024
    for n in range(150):
        dovecot.deliver(message(n, (b"%05d " % n + b"y" * 72 + b"\n") * (size // 79)))
    sizes: list[int] = []

    tracemalloc.start()
    try:
        report = poll(MailboxConfig.from_url(dovecot.url(scheme)), lambda d: sizes.append(len(d)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report.handled == 150 and min(sizes) > size * 0.9
    assert peak < 20 * size  # the mailbox holds 150 of them


@pytest.mark.parametrize("scheme", ("imap", "imaps", "pop3", "pop3s"))
def test_a_wrong_password_names_the_server_but_not_the_password(
    dovecot: Dovecot, scheme: str
) -> None:
    wrong = "wr0ng-s3cret"
    config = MailboxConfig.from_url(dovecot.url(scheme, password=wrong))
    with pytest.raises(MailboxError) as failed:
        poll(config, Collect())
    text = str(failed.value)
    port = dovecot.ports[scheme]
    assert f"127.0.0.1:{port}" in text and "cannot log in" in text
    assert "Authentication failed" in text
    assert wrong not in text and wrong not in repr(config)
    assert failed.value.report.fetched == 0


@pytest.mark.parametrize("scheme", ("imaps", "imap+starttls", "pop3s", "pop3+starttls"))
def test_a_self_signed_certificate_is_refused_unless_verify_is_off(
    dovecot: Dovecot, scheme: str
) -> None:
    dovecot.deliver(message(1))
    strict = MailboxConfig.from_url(dovecot.url(scheme).removesuffix("?verify=0"))
    with pytest.raises(MailboxError, match="(?i)certificate"):
        poll(strict, Collect())
    assert dovecot.waiting() == [message(1)]


def test_an_imap_folder_other_than_the_inbox(dovecot: Dovecot) -> None:
    dovecot.deliver(message(1))
    dovecot.deliver(message(2), folder="Bounces In")
    handle = Collect()
    poll(MailboxConfig.from_url(dovecot.url("imap", folder="Bounces In")), handle)
    assert handle.seen == [wire(message(2))]
    assert dovecot.waiting() == [message(1)]


def test_a_missing_imap_folder_is_an_error(dovecot: Dovecot) -> None:
    config = MailboxConfig.from_url(dovecot.url("imap", folder="Nowhere"))
    with pytest.raises(MailboxError, match="folder .*Nowhere.*doesn't exist"):
        poll(config, Collect())


@pytest.mark.parametrize("scheme", ("imap", "pop3s"))
def test_nothing_listening_is_a_connection_error(scheme: str) -> None:
    port = free_port()
    config = MailboxConfig.from_url(f"{scheme}://{USER}:secret@127.0.0.1:{port}")
    with pytest.raises(MailboxError, match=rf"cannot connect to .*127\.0\.0\.1:{port}"):
        poll(config, Collect(), timeout=5)
