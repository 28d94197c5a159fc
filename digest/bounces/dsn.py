"""RFC 3464 delivery status notifications.

A DSN carries, per recipient, an ``Action`` (failed, delayed, delivered, relayed,
expanded), a ``Status`` (RFC 3463: 5.1.1), a ``Final-Recipient`` (and sometimes the
``Original-Recipient`` as we addressed it) and a ``Diagnostic-Code`` (``smtp; 550 5.1.1
User unknown``). The fields are read from a message/delivery-status part when there is
one, else (a broken MIME structure, a forwarded or plain-text report) from the text.

Per recipient:

- delivered, relayed, expanded (and Sendmail's "deliverable"): not a bounce;
- delayed: soft;
- failed, or no Action: hard or soft by the status and the diagnostic, see
  :mod:`digest.bounces.classify`; a failure with a 4.x.x status (the MTA gave up on a
  temporary problem) is soft.

The recipient is the Original-Recipient when given (the address as we sent it, before
any alias or forwarding), else the Final-Recipient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from digest.bounces.bounce import Bounce, Kind, one_line
from digest.bounces.classify import best_status, judge
from digest.bounces.mime import addresses
from digest.domain.bounce_policy import Reason

_PER_MESSAGE = ("reporting-mta",)
_PER_RECIPIENT = (
    "final-recipient",
    "original-recipient",
    "action",
    "status",
    "diagnostic-code",
    "remote-mta",
    "x-actual-recipient",
)
_FIELD = re.compile(
    r"^[ \t>]*(" + "|".join(_PER_MESSAGE + _PER_RECIPIENT) + r")[ \t]*:[ \t]*(.*)$", re.I
)
_NOT_BOUNCE_ACTIONS = ("delivered", "relayed", "expanded", "deliverable")
_RECIPIENT_FIELDS = ("original-recipient", "final-recipient", "x-actual-recipient")


@dataclass
class Report:
    """The fields of one delivery-status report."""

    reporter: str | None = None
    recipients: list[dict[str, str]] = field(default_factory=list)


def read_fields(text: str) -> Report:
    """The DSN fields in ``text``: per-message ones and one dict per recipient.

    A recipient's block ends at a blank line, or where a field it already has
    appears again (some reports run blocks together); fields may come in any order.
    Lines quoted with ``>`` are read too (a forwarded report).
    """
    report = Report()
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        match = _FIELD.match(line)
        if match:
            name, value = match.group(1).lower(), match.group(2).strip()
            last = name
            if name in _PER_MESSAGE:
                report.reporter = report.reporter or _strip_type(value)
                continue
            if name in current:
                report.recipients.append(current)
                current = {}
            current[name] = value
        elif last and line[:1] in (" ", "\t") and line.strip():
            if last in current:  # a folded field continues
                current[last] += " " + line.strip()
        else:
            last = None
            if not line.strip() and current:
                report.recipients.append(current)
                current = {}
    if current:
        report.recipients.append(current)
    report.recipients = [r for r in report.recipients if _is_recipient_block(r)]
    return report


def bounces(report: Report, notes: Mapping[str, str] | None = None) -> list[Bounce]:
    """One Bounce per recipient block of ``report``. ``notes`` maps addresses to what
    the human-readable part says about them, read when a block has no Diagnostic-Code."""
    return [_bounce(block, report.reporter, notes or {}) for block in report.recipients]


def _bounce(block: dict[str, str], reporter: str | None, notes: Mapping[str, str]) -> Bounce:
    action = (block.get("action") or "").split(" ")[0].strip().lower() or None
    recipient = _recipient(block)
    diagnostic = _strip_type(block.get("diagnostic-code") or "")
    if not diagnostic:  # what the human-readable part says about this recipient
        named = [a for name in _RECIPIENT_FIELDS for a in addresses(block.get(name) or "")]
        diagnostic = next((notes[a] for a in named if a in notes), "")
    status = best_status(block.get("status"), diagnostic)
    reason, kind = _judge(action, status, diagnostic)
    return Bounce(
        kind=kind,
        how="dsn",
        reason=reason,
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=one_line(diagnostic),
        reporter=reporter,
    )


def _judge(action: str | None, status: str | None, diagnostic: str) -> tuple[Reason, Kind]:
    if action in _NOT_BOUNCE_ACTIONS or (action is None and (status or "").startswith("2")):
        return "delivered", "not-bounce"
    return judge(status, diagnostic, delayed=action == "delayed")


def _recipient(block: dict[str, str]) -> str | None:
    values = [_strip_type(block.get(name) or "") for name in _RECIPIENT_FIELDS]
    for value in values:
        found = addresses(value)
        if found:
            return found[0]
    for value in values:  # an address no pattern accepts ("🐈@example.org") is still one
        bare = "".join(value.strip("<> ").split())
        if "@" in bare.strip("@"):
            return bare.lower()
    return None


def _is_recipient_block(block: dict[str, str]) -> bool:
    has_recipient = "final-recipient" in block or "original-recipient" in block
    return has_recipient and ("action" in block or "status" in block)


def _strip_type(value: str) -> str:
    """``rfc822; a@b`` → ``a@b``; ``smtp; 550 …`` → ``550 …``; ``dns; mx`` → ``mx``."""
    head, sep, rest = value.partition(";")
    if sep and re.fullmatch(r"\s*[A-Za-z][\w.-]*\s*", head):
        return rest.strip()
    return value.strip()
