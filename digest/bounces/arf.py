"""Complaints: RFC 5965 feedback reports, and the few common ones that are not.

An ARF report (multipart/report; report-type=feedback-report) has a
message/feedback-report part whose ``Feedback-Type`` says what happened:

- abuse, fraud, virus, other, opt-out (and anything unknown): a complaint;
- not-spam: the subscriber rescued the message, not a complaint;
- auth-failure (RFC 6591, DMARC forensic reports): about our authentication, not
  about a subscriber, so not a complaint.

The complaining address is each ``Original-Rcpt-To``, else ``Removal-Recipient``
(opt-out reports), else the To of the attached original message.

Two non-ARF forms are complaints too: Hotmail's older feedback loop (the original
attached with an ``X-HmXmrOriginalRecipient`` header) and an unsubscribe request a mail
client sends on the subscriber's behalf (Apple Mail's ``X-Apple-Unsubscribe``).
"""

from __future__ import annotations

from email.message import Message

from digest.bounces.bounce import Bounce, Kind, one_line
from digest.bounces.mime import (
    addresses,
    attached,
    header,
    header_addresses,
    leaves,
    part_text,
)
from digest.domain.bounce_policy import Reason

_AUTH_FAILURES = ("auth-failure", "dmarc")
_NOT_COMPLAINTS = ("not-spam", *_AUTH_FAILURES)

# The reporter of an unsubscribe request a mail client sent for the reader.
UNSUBSCRIBE_REQUEST = "unsubscribe"


def feedback_report(msg: Message) -> list[Bounce] | None:
    """The complaints in an ARF report, or None when ``msg`` has no feedback part."""
    report = next(
        (p for p in leaves(msg) if p.get_content_type() == "message/feedback-report"), None
    )
    if report is None:
        return None
    fields = _fields(part_text(report))
    feedback_type = (fields.get("feedback-type", [""])[0].split() or ["abuse"])[0].lower()
    kind: Kind = "not-bounce" if feedback_type in _NOT_COMPLAINTS else "complaint"
    reason: Reason = "auth_failure" if feedback_type in _AUTH_FAILURES else "feedback"
    recipients = _recipients(fields, msg)
    summary = next(
        (one_line(part_text(p)) for p in leaves(msg) if p.get_content_type() == "text/plain"), None
    )
    named: list[str | None] = [*recipients] or [None]
    return [
        Bounce(
            kind=kind,
            how="arf",
            reason=reason,
            recipient=r,
            diagnostic=summary,
            reporter=feedback_type,
        )
        for r in named
    ]


def other_complaint(msg: Message) -> list[Bounce] | None:
    """A non-ARF complaint or unsubscribe request, or None."""
    if header(msg, "X-Apple-Unsubscribe").lower() == "true":
        sender = header_addresses(msg, "From")
        return [
            Bounce(
                kind="complaint",
                reason="feedback",
                how="fallback",
                recipient=sender[0] if sender else None,
                diagnostic="unsubscribe request sent by the mail client",
                reporter=UNSUBSCRIBE_REQUEST,
            )
        ]
    for original in attached(msg):
        hotmail = addresses(header(original, "X-HmXmrOriginalRecipient"))
        if hotmail:
            return [
                Bounce(
                    kind="complaint",
                    reason="feedback",
                    how="fallback",
                    recipient=hotmail[0],
                    diagnostic=one_line(header(msg, "Subject")),
                    reporter="abuse",
                )
            ]
    return None


def _fields(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name and " " not in name.strip():
            fields.setdefault(name.strip().lower(), []).append(value.strip())
    return fields


def _recipients(fields: dict[str, list[str]], msg: Message) -> list[str]:
    for name in ("original-rcpt-to", "removal-recipient"):
        found = [a for value in fields.get(name, []) for a in addresses(value)]
        if found:
            return list(dict.fromkeys(found))
    for original in attached(msg):
        found = header_addresses(original, "To")
        if found:
            return found[:1]
    return []
