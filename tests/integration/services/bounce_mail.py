"""Bounce, complaint and auto-reply messages in the forms real mail servers send
them, about a digest a real SMTP server received."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from tests.conftest import Cli, Received, SmtpServer

REPORTER = "mx.example.net"
JOINED = "2026-03-16T09:00:00+00:00"
SLOT = "2026-03-17T07:00:00+00:00"
BOUNCE_DOMAIN = "bounce.example.org"
WRITTEN = datetime(2026, 3, 17, 7, 5, tzinfo=UTC)  # when a report says it was written


def digests_sent(cli: Cli, smtp_server: SmtpServer, *readers: str) -> dict[str, Received]:
    """Through the ``digest`` command: one digest to each reader at ``SLOT``, with VERP
    on (``bounces@BOUNCE_DOMAIN``); what the SMTP server received, by recipient."""
    cli.env["DIGEST_BOUNCE_ADDRESS"] = f"bounces@{BOUNCE_DOMAIN}"
    cli("topics", "add", "news")
    cli(
        "articles",
        "import",
        "-",
        input='{"url": "https://news.example.org/a", "title": "A", "summary": "s",'
        ' "published_at": "2026-03-16T10:00:00Z", "topics": ["news"]}',
    )
    for reader in readers:
        cli("subscribers", "add", reader, "--topics", "news", "--confirmed", "--now", JOINED)
    assert f"sent {len(readers)}" in cli("run", "--now", SLOT)
    return {r.rcpt_tos[0]: r for r in smtp_server.received}


def _original_headers(original: Received) -> str:
    """The returned message's header block, as reports attach it."""
    return original.data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace") + "\r\n"


def _report(
    *,
    sender: str,
    to: str,
    subject: str,
    report_type: str,
    text: str,
    parts: list[tuple[str, str]],
    date: datetime = WRITTEN,
) -> bytes:
    """A multipart/report: a human-readable part, then ``(content type, body)`` parts."""
    boundary = "=_report_" + make_msgid().strip("<>").replace("@", ".")
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {make_msgid(domain=REPORTER)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        text,
    ]
    for content_type, body in parts:
        lines += [f"--{boundary}", f"Content-Type: {content_type}", "", body]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()


def dsn(
    original: Received | None,
    *,
    to: str,
    recipient: str,
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <{r}>: Recipient address rejected: User unknown",
    action: str = "failed",
    text: str = "",
    date: datetime = WRITTEN,
) -> bytes:
    """An RFC 3464 delivery-status notification, as Postfix writes one, sent to
    ``to`` (the envelope sender of the original: its VERP address), quoting the
    original's headers when it is given."""
    fields = (
        f"Reporting-MTA: dns; {REPORTER}\r\n"
        "Arrival-Date: Tue, 2 Jun 2026 07:04:58 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; mail.{recipient.rpartition('@')[2]}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic.format(r=recipient)}\r\n"
    )
    parts = [("message/delivery-status", fields)]
    if original is not None:
        parts.append(("text/rfc822-headers", _original_headers(original)))
    return _report(
        sender=f"MAILER-DAEMON@{REPORTER} (Mail Delivery System)",
        to=to,
        subject="Undelivered Mail Returned to Sender",
        report_type="delivery-status",
        text=f"This is the mail system at host {REPORTER}.\r\n\r\n"
        "Your message could not be delivered to one or more recipients.\r\n" + text,
        parts=parts,
        date=date,
    )


def arf(original: Received, *, recipient: str, to: str = "fbl@news.example.org") -> bytes:
    """An RFC 5965 abuse report (a reader pressed "spam"), as mailbox providers'
    feedback loops send it, with the original's headers quoted."""
    fields = (
        "Feedback-Type: abuse\r\n"
        "User-Agent: ExampleFBL/1.0\r\n"
        "Version: 1\r\n"
        f"Original-Rcpt-To: {recipient}\r\n"
        "Source-IP: 192.0.2.25\r\n"
    )
    return _report(
        sender="feedback@fbl.example.net",
        to=to,
        subject="Email Feedback Report for IP 192.0.2.25",
        report_type="feedback-report",
        text="This is an email abuse report for an email message received.\r\n",
        parts=[
            ("message/feedback-report", fields),
            ("text/rfc822-headers", _original_headers(original)),
        ],
    )


def arf_about(recipient: str, *, note: str = "") -> bytes:
    """An abuse report that names ``recipient`` and quotes nothing of ours (the way
    anyone could write one)."""
    fields = f"Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: {recipient}\r\n"
    return _report(
        sender="feedback@fbl.example.net",
        to=f"fbl@{BOUNCE_DOMAIN}",
        subject=f"Complaint {note}".strip(),
        report_type="feedback-report",
        text="An abuse report.\r\n",
        parts=[("message/feedback-report", fields)],
    )


def auto_reply(original: Received, *, sender: str) -> bytes:
    """An out-of-office answer (RFC 3834) to a digest."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = original.mail_from
    reply["Subject"] = "Automatic reply: Your digest"
    reply["Auto-Submitted"] = "auto-replied"
    reply["In-Reply-To"] = str(original.message["Message-ID"])
    reply["Message-ID"] = make_msgid(domain="example.org")
    reply.set_content("I am away until Monday and will read your message then.\n")
    return reply.as_bytes()
