"""Automatic replies: out-of-office notices, vacation messages, autoresponders.

A message is an automatic reply when it says so in a header (RFC 3834
``Auto-Submitted: auto-replied``, ``X-Autoreply``, ``X-Autorespond``, ``Precedence:
auto_reply``, Apple's ``X-Apple-Action: VACATION``) or in its subject ("Automatic
reply", "Auto:", "Out of Office", "vacation", …). Mail systems mark their bounces
``auto-replied`` too, so this is only asked once the message turned out not to be a
bounce. The replying address is the From, unless that is a no-reply address and a
Reply-To names the person.
"""

from __future__ import annotations

import re
from email.message import Message

from digest.bounces.bounce import Bounce, one_line
from digest.bounces.mime import header, header_addresses

_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|respon[sd]\w*|antwort)\b|auto\s*:|autoreply"
    r"|out of (?:the )?office|away\b|on vacation|vacation\b|abwesenheit|absence\b"
    r"|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|自動応答|不在)",
    re.I,
)
_NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|noreply|mailer-daemon|postmaster)@", re.I)


def auto_reply(msg: Message) -> list[Bounce] | None:
    """The automatic reply in ``msg``, or None when it is not one."""
    if not (_marked(msg) or _SUBJECT.search(header(msg, "Subject"))):
        return None
    sender = header_addresses(msg, "From")
    reply_to = header_addresses(msg, "Reply-To")
    recipient = sender[0] if sender else None
    if reply_to and (recipient is None or _NO_REPLY.match(recipient)):
        recipient = reply_to[0]
    return [
        Bounce(
            kind="auto-reply",
            reason="vacation",
            how="auto-reply",
            recipient=recipient,
            diagnostic=one_line(header(msg, "Subject")),
        )
    ]


def _marked(msg: Message) -> bool:
    auto_submitted = header(msg, "Auto-Submitted").lower()
    if auto_submitted.startswith("auto-replied"):
        return True
    if header(msg, "X-Autoreply") or header(msg, "X-Autorespond"):
        return True
    if header(msg, "Precedence").lower() == "auto_reply":
        return True
    if header(msg, "X-Apple-Action").upper() == "VACATION":
        return True
    return "vacation" in header(msg, "X-Mailer").lower()
