"""Why a delivery failed (a *reason*, see :mod:`digest.domain.bounce_policy`) and
whether the address itself is gone (*hard*) or may work later (*soft*).

One classifier for every reply: a delivery-status report, a bounce in prose and a
relay's refusal during the SMTP conversation all come here with a status code (RFC
3463, when there is one) and their failure texts, most specific first.

The reason, by the first rule that decides:

1. The words of the texts, the most specific text first, in the order of
   ``reason_rules.WORDS``: a full mailbox, a size, an account shut, then what
   blames the sender (authentication, block lists and our IP, our sender address or name,
   rates, connections), then a moved or unknown user, an unknown host, network and
   DNS failures, spam, filters, policy, system errors, expiry, and last a temporary
   failure that named no cause. Addresses and the paths of links are not words
   ("filtered@…", ".../#blocked"). Clear words outrank a status code: "over quota
   (#5.1.1)" is a full mailbox, "Host not found, try again" a DNS failure.
2. Where the words say the address is gone but something says it exists or is our
   own, the reading that keeps the reader wins: with a mailbox status (x.2.x, "the
   mailbox exists") the status decides; with a status about our sender (x.1.7,
   x.1.8, x.7.27) or a refusal "after MAIL FROM" the reason is ``rejected``; a
   "user unknown" given after DATA, once the address was accepted, is ``filtered``;
   "Recipient address rejected: Access denied" means "not in the directory" only
   with Exchange Online's 5.4.1.
3. No words: the status code (``reason_rules.BY_STATUS``), most specific first:
   5.1.1 an unknown user, 5.2.1 a mailbox that exists but refuses, 5.7.26 an authentication
   failure, …
4. Nothing else: *undetermined*. A failure nobody explains ("554 Transaction
   failed", an empty diagnostic with 5.0.0, a 503) proves nothing about the
   address: it is soft.

The kind: *hard* only for a user unknown, a host unknown or an address that moved,
and never for a delay (``Action: delayed``, or a report announcing one); everything
else is *soft*. A reason found in the words makes a hard bounce even with a 4xx reply
(some servers say "user unknown" with 450); a reason found only in a 4.x.x status
does not.
"""

from __future__ import annotations

import re

from digest.bounces.bounce import Kind
from digest.bounces.reason_rules import BY_STATUS, WORDS
from digest.domain.bounce_policy import ADDRESS_GONE, Reason

_ENHANCED = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_REPLY = re.compile(r"(?<![\w.=#/-])(?<!\d:)([245]\d\d)(?=[\s,;:)\]-]|$)", re.M)


# Addresses and the paths of links say nothing about why ("filtered@example.org",
# ".../reason/#blocked"); a link's host may ("www.spamhaus.org").
_ADDRESS = re.compile(r"\S+@\S+")
_LINK = re.compile(r"\b(?:https?|ftp)://([^/\s?#]+)\S*", re.I)
# A mailbox status (RFC 3463 x.2.x) says the mailbox exists.
_MAILBOX_EXISTS = re.compile(r"x\.2\.[0-4]$")
# Statuses about our sender address (RFC 3463 x.1.7, x.1.8; RFC 7505 x.7.27, the
# sender's domain has a null MX).
_SENDER_STATUS = frozenset({"x.1.7", "x.1.8", "x.7.27"})
_AFTER_MAIL_FROM = re.compile(r"after mail from|in reply to mail from", re.I)
# Words that put an "unknown" or "invalid" address or domain on our side when they
# are on the same line: our sender, our headers, our IP, a link, an allow list.
_ABOUT_US = re.compile(
    r"\bsender\b|from header|header from|return[- ]?path|\bmail from\b|\bhelo\b|\behlo\b"
    r"|\byour ip\b|\bsending ip\b|\burl\b|\blink\b|(?:allow|white|safe) ?list",
    re.I,
)
_DIRECTORY_BLOCK = re.compile(r"recipient address rejected: access denied", re.I)
# An unknown user said in answer to the message, after RCPT TO accepted the address.
_AFTER_DATA = re.compile(
    r"after end of data|in reply to end of data|>>> data|after (?:the )?data\b", re.I
)
_DELAY = re.compile(
    r"(?:has been|is|was) delayed|\bdelayed (?:mail|\d)|not yet been delivered"
    r"|will (?:be retried|keep trying|continue (?:trying|to try))|warning message only"
    r"|this is a warning|still being retried|message is delayed|\(delay\)"
    r"|only a temporary failure|warning: (?:could not|message)",
    re.I,
)


def enhanced_codes(text: str) -> list[str]:
    """RFC 3463 status codes in ``text``, in order (not parts of IP addresses)."""
    return [".".join(m.groups()) for m in _ENHANCED.finditer(text)]


def reply_codes(text: str) -> list[str]:
    """Three-digit SMTP reply codes in ``text``."""
    return [m.group(1) for m in _REPLY.finditer(text)]


def best_status(status: str | None, text: str = "") -> str | None:
    """The status code to go by. ``status`` is a Status field (or None), ``text`` the
    failure text (a Diagnostic-Code, a reply). A code in the text is the remote
    server's own word, so it wins over a Status of the same class (4 or 5), unless it
    only says x.0.0; a Status field wins over a code of the other class. Success
    codes in a text (a transcript's 250 2.1.5) never count."""
    given = next(iter(enhanced_codes(status or "")), None)
    failures = [c for c in enhanced_codes(text) if c[0] in "45"]
    detailed = [c for c in failures if not c.endswith(".0.0")]
    same_class = [c for c in detailed if given is None or c[0] == given[0]]
    if same_class and (given is None or given.endswith(".0.0") or same_class[0] != given):
        return same_class[0]
    return given or (failures[0] if failures else None)


def is_delay_notice(text: str) -> bool:
    """Whether ``text`` announces a delay rather than a failure."""
    return _DELAY.search(text) is not None


def reason_for(status: str | None, *texts: str) -> Reason:
    """The reason, by the rules in the module docstring: the words of the texts, the
    most specific first, then the status code."""
    for text in texts:
        found = _match(text)
        if found is None:
            continue
        reason, line = found
        generic = "x" + (status or "")[1:]
        if reason in ADDRESS_GONE and _MAILBOX_EXISTS.match(generic):
            return reason_of_status(status)  # x.2.x: the mailbox exists, whatever the words
        if reason in ADDRESS_GONE and (
            generic in _SENDER_STATUS or _AFTER_MAIL_FROM.search(text) or _ABOUT_US.search(line)
        ):
            return "rejected"  # the unknown user or domain is our sender's, or a list's
        if _DIRECTORY_BLOCK.search(text) and generic != "x.4.1":
            return "policy_violation"  # only Exchange Online's 5.4.1 means "not in the directory"
        if reason == "user_unknown" and _AFTER_DATA.search(text):
            return "filtered"  # the address was accepted; the message was not
        return reason
    return reason_of_status(status)


def _by_words(text: str) -> Reason | None:
    found = _match(text)
    return found[0] if found else None


def _match(text: str) -> tuple[Reason, str] | None:
    """The first reason the words of ``text`` name, and the line that names it."""
    plain = _LINK.sub(r"\1", _ADDRESS.sub(" ", text))
    for reason, words in WORDS:
        hit = words.search(plain)
        if hit:
            start = plain.rfind("\n", 0, hit.start()) + 1
            end = plain.find("\n", hit.end())
            return reason, plain[start : None if end < 0 else end]
    return None


def reason_of_status(status: str | None) -> Reason:
    """What a status code alone says (rule 2), ``undetermined`` when nothing."""
    if not status or status[0] not in "45":
        return "delivered" if status and status[0] == "2" else "undetermined"
    generic = "x" + status[1:]
    if generic in BY_STATUS:
        return BY_STATUS[generic]
    for prefix, reason in BY_STATUS.items():
        if prefix.endswith(".") and generic.startswith(prefix):
            return reason
    return "undetermined"


def judge(status: str | None, *texts: str, delayed: bool = False) -> tuple[Reason, Kind]:
    """The reason and the kind of one failure: ``status`` the status code to go by,
    ``texts`` its failure texts (most specific first), ``delayed`` when the report
    says delivery is still being tried."""
    reason = reason_for(status, *texts)
    if delayed or reason not in ADDRESS_GONE:
        return reason, "soft"
    if not any(_by_words(text) == reason for text in texts) and (status or "").startswith("4"):
        return reason, "soft"
    return reason, "hard"


def judge_reply(enhanced_code: str | None, text: str) -> tuple[Reason, Kind]:
    """The same rules for a relay's reply during the SMTP conversation."""
    return judge(best_status(enhanced_code, text), text)
