"""From a raw message to what it says about our recipients.

The readers are asked in order, and the first that recognises the message decides:

1. an RFC 5965 feedback report (:mod:`digest.bounces.arf`);
2. an RFC 3464 delivery-status part (:mod:`digest.bounces.dsn`), also one nested in
   an attached message;
3. an Amazon SES notification (:mod:`digest.bounces.ses`);
4. a non-ARF complaint or unsubscribe request (:mod:`digest.bounces.arf`);
5. a bounce without a delivery-status part (:mod:`digest.bounces.fallback`), whose
   DSN fields are still read when they appear in its text;
6. an automatic reply (:mod:`digest.bounces.autoreply`);
7. anything else: not a bounce.

Whatever decided, each result also carries what finds the subscriber again: the VERP
token of the address the report came back to, and the Message-ID and
``X-Digest-Delivery`` header of our original message.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable
from dataclasses import replace
from email.message import Message

from digest.bounces import arf, autoreply, dsn, fallback, ses
from digest.bounces.bounce import Bounce, one_line
from digest.bounces.mime import (
    attached,
    header,
    header_addresses,
    headers,
    leaves,
    part_text,
    read,
)
from digest.domain.delivery import DELIVERY_HEADER

MAX_RESULTS = 100  # recipients reported on by one message
_VERP_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
# Whoever a bounce went back to is us; its Delivered-To and friends are left out
# because some reports put the failed address there.
_OURS_IN_BOUNCE = ("To", "Cc", "From", "Sender", "Return-Path")
_OURS_IN_ORIGINAL = ("From", "Sender", "Reply-To", "Return-Path", "Errors-To")
_MESSAGE_ID_LINE = re.compile(
    r"^[ \t>]*Message-I[Dd][ \t]*:[ \t]*(<[^<>\s]+>|[^<>\s]+@[^<>\s]+)", re.M | re.I
)
_DELIVERY_LINE = re.compile(r"^[ \t>]*" + DELIVERY_HEADER + r"[ \t]*:[ \t]*(\S+)", re.M | re.I)
_TO_LINE = re.compile(r"^[ \t>]*To[ \t]*:[ \t]*(.+)$", re.M | re.I)


def parse_message(
    data: bytes, *, verp_prefix: str = "bounces", envelope_to: str | None = None
) -> list[Bounce]:
    """What the message in ``data`` reports: one Bounce per recipient it names, or a
    single "not-bounce" when it is no bounce, complaint or automatic reply.

    ``verp_prefix`` is the local part our envelope senders start with
    (``bounces+TOKEN@…``); ``envelope_to`` the SMTP RCPT TO the message arrived with,
    when the receiver knows it. Never raises: a message that cannot be read at all
    gives one "not-bounce" with ``how="error"`` and the reason in ``diagnostic``.
    """
    try:
        return _parse(data, verp_prefix, envelope_to)
    except Exception as error:  # the contract: any input, never an exception
        reason = f"unreadable message: {type(error).__name__}: {error}"
        return [Bounce(kind="not-bounce", how="error", diagnostic=one_line(reason))]


def verp_token(msg: Message, prefix: str, envelope_to: str | None = None) -> str | None:
    """TOKEN of ``<prefix>+TOKEN@…`` in ``envelope_to``, else in the Delivered-To,
    X-Original-To, Envelope-To and To headers (in that order). Case is kept."""
    pattern = re.compile(re.escape(prefix) + r"\+([A-Za-z0-9_=.-]+)@[^@\s]+$", re.I)
    values = [envelope_to or ""] + [v for name in _VERP_HEADERS for v in headers(msg, name)]
    for _, address in email.utils.getaddresses(values):
        match = pattern.match(address.strip())
        if match:
            return match.group(1)
    return None


def _parse(data: bytes, verp_prefix: str, envelope_to: str | None) -> list[Bounce]:
    msg = read(data)
    body = _body_text(msg)
    originals = attached(msg)
    original = _returned_message(originals)
    is_ours = _ours(msg, original, verp_prefix, envelope_to)
    found = _decide(msg, body, originals, original, is_ours)
    token = verp_token(msg, verp_prefix, envelope_to)
    message_id = _original_message_id(msg, body, original)
    delivery_ref = _original_delivery_ref(body, original)
    return [
        replace(b, message_id=message_id, delivery_ref=delivery_ref, verp_token=token)
        for b in found[:MAX_RESULTS]
    ]


def _decide(
    msg: Message,
    body: str,
    originals: list[Message],
    original: Message | None,
    is_ours: Callable[[str], bool],
) -> list[Bounce]:
    complaints = arf.feedback_report(msg)
    if complaints:
        return complaints
    text = fallback.split(body)
    notes = dict(fallback.named_recipients(text.explanation))
    for candidate in [msg, *originals]:  # a report may come wrapped in another
        for part in leaves(candidate):
            if part.get_content_type() == "message/delivery-status":
                found = dsn.bounces(dsn.read_fields(part_text(part)), notes)
                if found:
                    return _name_lone_recipient(found, _original_to(original, ""))
    notified = ses.notification(body)
    if notified:
        return notified
    other = arf.other_complaint(msg)
    if other:
        return other
    if fallback.is_bounce(msg, text):
        in_text = dsn.bounces(dsn.read_fields(body), notes)
        if in_text:
            return in_text
        returned_to = _original_to(original, text.returned)
        return fallback.bounces(msg, text, is_ours, returned_to)
    replied = autoreply.auto_reply(msg)
    if replied:
        return replied
    return [Bounce(kind="not-bounce", how="none")]


def _name_lone_recipient(found: list[Bounce], returned_to: list[str]) -> list[Bounce]:
    """A report on one recipient whose address it garbled is about the address our
    message went to."""
    if len(found) == 1 and found[0].recipient is None and returned_to:
        return [replace(found[0], recipient=returned_to[0])]
    return found


def _body_text(msg: Message) -> str:
    """The readable text of ``msg`` outside attached messages: its plain-text parts,
    or its HTML parts reduced to text when it has no plain text."""
    # A multipart whose boundaries are missing is left as text: read it as text.
    texts = [p for p in leaves(msg) if p.get_content_maintype() == "text" or _broken_multipart(p)]
    texts = [p for p in texts if p.get_content_subtype() not in ("rfc822-headers", "rfc822-header")]
    inline = [p for p in texts if not _is_attachment(p)] or texts
    plain = [p for p in inline if p.get_content_subtype() != "html"] or inline
    return "\n\n".join(part_text(p) for p in plain)


def _broken_multipart(part: Message) -> bool:
    return part.get_content_maintype() == "multipart" and not part.is_multipart()


def _is_attachment(part: Message) -> bool:
    return header(part, "Content-Disposition").lower().startswith("attachment")


def _returned_message(originals: list[Message]) -> Message | None:
    """Our message as returned: the first attached one, looking through an attached
    report that itself returns it (a bounce forwarded as an attachment)."""
    original = originals[0] if originals else None
    for _ in range(3):
        if original is None or not _is_report(original):
            break
        inner = attached(original)
        if not inner:
            break
        original = inner[0]
    return original


def _is_report(msg: Message) -> bool:
    return any(p.get_content_type() == "message/delivery-status" for p in leaves(msg))


def _ours(
    msg: Message, original: Message | None, prefix: str, envelope_to: str | None
) -> Callable[[str], bool]:
    """Tells our own addresses: where the report went back to, our original's sender,
    and any VERP address of ours."""
    ours = set(header_addresses(msg, *_OURS_IN_BOUNCE))
    if original is not None:
        ours.update(header_addresses(original, *_OURS_IN_ORIGINAL))
    if envelope_to:
        ours.add(envelope_to.strip().strip("<>").lower())
    verp = re.compile(re.escape(prefix.lower()) + r"\+")
    return lambda address: address in ours or verp.match(address) is not None


def _original_to(original: Message | None, returned: str) -> list[str]:
    """The recipients of our returned message."""
    found = header_addresses(original, "To") if original is not None else []
    if found:
        return found
    match = _TO_LINE.search(returned)
    if match:
        parsed = email.utils.getaddresses([match.group(1)])
        return [a.lower() for _, a in parsed if "@" in a]
    return []


def _original_message_id(msg: Message, body: str, original: Message | None) -> str | None:
    """The Message-ID of our message: from the returned copy, else a Message-ID line
    of the text, else what the report says it replies to."""
    value = header(original, "Message-ID").split() if original is not None else []
    if value:
        return value[0]
    found = _MESSAGE_ID_LINE.findall(body)
    if found:
        return str(found[-1])  # the returned message comes last
    # An automatic reply names our message in In-Reply-To; some bounces do too.
    replied_to = header(msg, "In-Reply-To").split() or header(msg, "References").split()[-1:]
    return replied_to[0] if replied_to else None


def _original_delivery_ref(body: str, original: Message | None) -> str | None:
    """The X-Digest-Delivery header of our message, wherever the report kept it."""
    value = header(original, DELIVERY_HEADER) if original is not None else ""
    if value:
        return value
    found = _DELIVERY_LINE.findall(body)
    if found:
        return str(found[-1])
    return ses.original_header(body, DELIVERY_HEADER)
