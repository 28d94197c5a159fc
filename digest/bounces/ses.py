"""Amazon SES notifications delivered by email through SNS.

The body is JSON (sometimes wrapped in an SNS envelope, sometimes folded by a mail
system and no longer valid JSON), so the few fields needed are read with patterns that
accept both plain and escaped quotes:

- ``notificationType`` Bounce: ``bounceType`` Permanent is hard, unless the
  ``bounceSubType`` blames the message (MailboxFull, MessageTooLarge,
  ContentRejected, AttachmentRejected); Transient and Undetermined are soft;
- Complaint: a complaint for each complained recipient;
- Delivery: not a bounce.
"""

from __future__ import annotations

import re

from digest.bounces.bounce import Bounce, Kind, one_line
from digest.bounces.classify import judge
from digest.domain.bounce_policy import ADDRESS_GONE, Reason

_Q = r'\\?"'  # a quote, escaped or not
_TYPE = re.compile(_Q + r"notificationType" + _Q + r"\s*:\s*" + _Q + r"(\w+)")
_BOUNCE_TYPE = re.compile(_Q + r"bounceType" + _Q + r"\s*:\s*" + _Q + r"(\w+)")
_SUB_TYPE = re.compile(_Q + r"bounceSubType" + _Q + r"\s*:\s*" + _Q + r"(\w+)")
_RECIPIENT = re.compile(_Q + r"emailAddress" + _Q + r"\s*:\s*" + _Q + r"([^\"\\]+)")
_STATUS = re.compile(_Q + r"status" + _Q + r"\s*:\s*" + _Q + r"([245]\.\d{1,3}\.\d{1,3})")
_DIAGNOSTIC = re.compile(_Q + r"diagnosticCode" + _Q + r"\s*:\s*" + _Q + r"((?:[^\"\\]|\\[^\"])*)")
_REPORTER = re.compile(_Q + r"reportingMTA" + _Q + r"\s*:\s*" + _Q + r"(?:dsn;\s*)?([^\"\\]+)")
# What SES's bounceSubType says, when the status and diagnostic do not.
_SUB_TYPES: dict[str, Reason] = {
    "noemail": "user_unknown",
    "suppressed": "user_unknown",
    "onaccountsuppressionlist": "user_unknown",
    "mailboxfull": "mailbox_full",
    "messagetoolarge": "message_too_big",
    "contentrejected": "policy_violation",
    "attachmentrejected": "policy_violation",
}


def notification(body: str) -> list[Bounce] | None:
    """What an SES notification in ``body`` reports, or None if it is not one."""
    found = _TYPE.search(body)
    if not found:
        return None
    kind_name = found.group(1).lower()
    reporter = _first(_REPORTER, body) or "amazonses.com"
    if kind_name == "delivery":
        return [Bounce(kind="not-bounce", how="ses", reason="delivered", reporter=reporter)]
    if kind_name == "complaint":
        complained: list[str | None] = [*_all(_RECIPIENT, body)] or [None]
        return [
            Bounce(kind="complaint", how="ses", reason="feedback", recipient=r, reporter="abuse")
            for r in complained
        ]
    if kind_name != "bounce":
        return None
    bounce_type, sub_type = _first(_BOUNCE_TYPE, body), _first(_SUB_TYPE, body)
    # bouncedRecipients come first in the JSON; pair each with the status after it.
    bounced = list(_RECIPIENT.finditer(body))
    result = []
    for i, match in enumerate(bounced or [None]):
        end = bounced[i + 1].start() if match is not None and i + 1 < len(bounced) else len(body)
        start = match.end() if match is not None else 0
        chunk = body[start:end]
        status, diagnostic = _first(_STATUS, chunk), _first(_DIAGNOSTIC, chunk)
        reason, kind = _judge(bounce_type, sub_type, status, diagnostic or "")
        result.append(
            Bounce(
                kind=kind,
                how="ses",
                reason=reason,
                recipient=match.group(1).lower() if match is not None else None,
                status=status,
                action="failed",
                diagnostic=one_line(diagnostic),
                reporter=reporter,
            )
        )
    return result


def original_header(body: str, name: str) -> str | None:
    """A header of our original message, from the notification's header list."""
    pattern = re.compile(
        _Q
        + r"name"
        + _Q
        + r"\s*:\s*"
        + _Q
        + re.escape(name)
        + _Q
        + r"\s*,\s*"
        + _Q
        + r"value"
        + _Q
        + r"\s*:\s*"
        + _Q
        + r"([^\"\\]+)",
        re.I,
    )
    return _first(pattern, body)


def _judge(
    bounce_type: str | None, sub_type: str | None, status: str | None, diagnostic: str
) -> tuple[Reason, Kind]:
    """The classifier's reason for the status and diagnostic; SES's sub-type when those
    say nothing. A transient bounce is never hard."""
    transient = (bounce_type or "").lower() != "permanent"
    reason, kind = judge(status, diagnostic, delayed=transient)
    if reason == "undetermined":
        reason = _SUB_TYPES.get((sub_type or "").lower(), "undetermined")
        kind = "hard" if reason in ADDRESS_GONE and not transient else "soft"
    return reason, kind


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1).strip() if match else None


def _all(pattern: re.Pattern[str], text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).strip().lower() for m in pattern.finditer(text)))
