"""Bounces without a delivery-status part: qmail, Exim, old Sendmail and Postfix,
Exchange and Lotus texts, webmail providers, Japanese carriers, …

A message is taken for a bounce when two of these agree (or it has an
``X-Failed-Recipients`` header):

- the sender: MAILER-DAEMON, postmaster, "Mail Delivery System", an empty
  Return-Path (``<>``);
- the subject: "Undelivered Mail", "Delivery Status Notification", "failure notice",
  "Returned mail", "Undeliverable", "Mail delivery failed", …;
- the text: "could not be delivered", "This is a permanent error", "Hi. This is the
  qmail-send program", "did not reach the following recipient", ….

Only the bounce's own explanation is read: the text stops at the returned copy of our
message ("--- Below this line is a copy of the message", "Original message headers",
…), so words in our newsletter never count. The failed recipients are the addresses
that open a line of that explanation (qmail's ``<a@b>:``, Exim's indented list,
Sendmail's ``550 <a@b>... User unknown``) or follow a label ("Recipient address:",
"Unknown user:", "delivering your mail to <a@b>"), leaving out our own addresses;
failing those, ``X-Failed-Recipients``, then the To of the returned message. Each
recipient is judged on the lines about it first, then on the whole explanation (see
:mod:`digest.bounces.classify`); a delay notice is soft.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from digest.bounces.bounce import Bounce, one_line
from digest.bounces.classify import best_status, is_delay_notice, judge
from digest.bounces.mime import ADDRESS, addresses, header, header_addresses

MAX_RECIPIENTS = 50
MAX_BLOCK_LINES = 12

_SENDER = re.compile(
    r"mailer[-_. ]?daemon|postmaster|post_master|mail delivery|delivery (?:status|subsystem|system)"
    r"|\bndr\b|mail administrator",
    re.I,
)
_SUBJECT = re.compile(
    r"undeliver|not delivered|delivery (?:status|fail|notification|report|problem|error)"
    r"|failure notice|failed delivery|failure delivery|delivery failure|returned mail"
    r"|returning message|mail delivery|mail system error|delayed mail|could not send"
    r"|could not be delivered|error sending|non remis|non recapitabile|unzustellbar"
    r"|nicht zustellbar|не доставлено|bounce|message you sent blocked|mail failure"
    r"|warning: message|returned to sender|エラー|不達|返送|配信でき|送信でき",
    re.I,
)
_BODY = re.compile(
    r"could not be delivered|couldn'?t be delivered|undeliverable|undelivered"
    r"|delivery (?:has )?failed|failed permanently|permanent (?:error|failure|fatal)"
    r"|wasn'?t able to deliver|unable to deliver|not be delivered|did not reach"
    r"|was not delivered|not yet been delivered|message not delivered|delivery to the following"
    r"|following address(?:\(es\)|es)? (?:failed|had)"
    r"|mail delivery (?:software|system)|qmail-send|error (?:delivering|transferring)"
    r"|returned to (?:the )?sender|trouble delivering|delivery (?:problems|errors)|fatal errors"
    r"|could not deliver|transcript of session|non-delivered|failure reasons"
    r"|occurred while (?:attempting|trying) to deliver|recipients? (?:was|were) rejected"
    r"|was rejected|has been delayed|invalid user address|no valid recipients"
    r"|送信できませんでした|配信できませんでした|届きませんでした",
    re.I,
)
# Where the returned copy of our message starts.
_ORIGINAL = re.compile(
    r"^[ \t>|*-]*(?:"
    r"(?:this is a |here is a |below this line is a |below is a |enclosed is a |a )?"
    r"copy of (?:the |your )?(?:original )?message"
    r"|(?:the )?original message(?: headers| follows| is attached|\s*:|\s*-|\s*$)"
    r"|original headers|(?:the )?header of the original message|unsent message follows"
    r"|message text follows|returned message|message headers follow"
    r"|en-t[eê]tes de message d'origine|(?:return-path|received|dkim-signature):"
    r")",
    re.I | re.M,
)
_PREFIX = re.compile(r"^[ \t]*(?:[-*>|•]+[ \t]*)?(?:[245]\d\d[ \t]+)?[\"'<(\[]*")
_LABELLED = re.compile(
    r"(?:(?<![\w-])to\b|recipients?\b[^:\n]{0,60}|\baddress(?:es)?\b|\baddressee\b|\buser\b"
    r"|\bmailbox\b[^:\n]{0,30}|\baccount\b)[ \t]*:?[ \t]*[\"'<(\[]*(" + ADDRESS.pattern + ")"
    r"|:[ \t]*[\"'<]?(" + ADDRESS.pattern + r")[\"'>]?[ \t]*$",
    re.I,
)
_SENDER_LINE = re.compile(r"^[ \t>]*(?:from|sender|return-path|reply-to)[ \t]*:(.*)$", re.I | re.M)
_TRANSCRIPT_LINE = re.compile(r"^[ \t]*[245]\d\d[ \t]+<[^>]+>\.\.\.")
_NOT_RECIPIENT_LINE = re.compile(
    r"^[ \t>]*(?:from|sender|reply-to|return-path|message-id|in-reply-to|references|errors-to)\s*:",
    re.I,
)


@dataclass(frozen=True)
class Text:
    """A bounce's own explanation, and what follows it (the returned message)."""

    explanation: str
    returned: str


def split(body: str) -> Text:
    """``body`` cut where the returned copy of our message begins."""
    lines = [_unquote(line) for line in body.splitlines()]
    text = "\n".join(lines)
    match = _ORIGINAL.search(text)
    if not match:
        return Text(text, "")
    return Text(text[: match.start()], text[match.start() :])


def is_bounce(msg: Message, text: Text) -> bool:
    """Whether ``msg`` looks like a bounce (see the module docstring)."""
    if header(msg, "X-Failed-Recipients"):
        return True
    sender = header(msg, "From")
    return_path = header(msg, "Return-Path")
    from_daemon = bool(_SENDER.search(sender)) or sender.strip() in ("", "<>")
    cues = [
        from_daemon or return_path.strip() in ("<>", "<MAILER-DAEMON>") or "<>" in sender,
        bool(_SUBJECT.search(header(msg, "Subject"))),
        bool(_BODY.search(text.explanation)),
    ]
    return sum(cues) >= 2


def bounces(
    msg: Message, text: Text, is_ours: Callable[[str], bool], returned_to: list[str]
) -> list[Bounce]:
    """The failed recipients of a non-standard bounce and what happened to each.

    ``is_ours`` tells our own addresses (not failed recipients, unless the text names
    nobody else); ``returned_to`` are the recipients of the returned message.
    """
    explanation = text.explanation
    delay = is_delay_notice(header(msg, "Subject") + "\n" + explanation)
    named = named_recipients(explanation)
    senders = set(addresses("\n".join(_SENDER_LINE.findall(text.returned))))
    found = [(a, block) for a, block in named if not is_ours(a) and a not in senders]
    if not found:
        failed = addresses(header(msg, "X-Failed-Recipients"))
        found = [(a, "") for a in failed or returned_to[:1]] or named
    reporter = _domain(header_addresses(msg, "From"))
    results = []
    pairs: list[tuple[str | None, str]] = [*found[:MAX_RECIPIENTS]] or [(None, "")]
    for recipient, block in pairs:
        status = best_status(None, block) or best_status(None, explanation)
        reason, kind = judge(status, block, explanation, delayed=delay)
        results.append(
            Bounce(
                kind=kind,
                how="fallback",
                reason=reason,
                recipient=recipient,
                status=status,
                action="delayed" if delay else "failed",
                diagnostic=one_line(block or explanation),
                reporter=reporter,
            )
        )
    return results


def named_recipients(explanation: str) -> list[tuple[str, str]]:
    """(address, the lines about it) for each recipient a bounce's text names.

    The lines about a recipient run to the next blank line or the next recipient;
    a transcript line for it ("550 <a@b>... User unknown") says it best, wherever it
    comes."""
    lines = explanation.splitlines()
    starts: dict[str, int] = {}  # address: the line that first names it
    verdicts: dict[str, str] = {}
    for number, line in enumerate(lines):
        if _NOT_RECIPIENT_LINE.match(line):
            continue
        for address in _line_recipients(line):
            if _TRANSCRIPT_LINE.match(line):
                verdicts.setdefault(address, line)
            starts.setdefault(address, number)
        if len(starts) >= MAX_RECIPIENTS:
            break
    numbers = sorted(set(starts.values())) + [len(lines)]
    found = []
    for address, number in starts.items():
        following = next(n for n in numbers if n > number)
        end = min(following, number + MAX_BLOCK_LINES)
        blank = next((n for n in range(number + 1, end) if not lines[n].strip()), end)
        found.append((address, verdicts.get(address) or "\n".join(lines[number:blank])))
    return found


def _line_recipients(line: str) -> list[str]:
    prefix = _PREFIX.match(line)
    opening = ADDRESS.match(line, prefix.end() if prefix else 0)
    found = [opening.group(0)] if opening else []
    found += [m.group(1) or m.group(2) for m in _LABELLED.finditer(line)]
    return [a.lower().rstrip(".") for a in found]


def _unquote(line: str) -> str:
    """A line of a forwarded report without its "> " quoting."""
    return (
        re.sub(r"^(?:> ?)+", "", line)
        if line.startswith(">") and not line.startswith(">>>")
        else line
    )


def _domain(found: list[str]) -> str | None:
    return (found[0].partition("@")[2] or None) if found else None
