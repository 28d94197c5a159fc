"""Hard or soft: what a status code and a failure text say about the address.

A *hard* bounce means mailing the address again cannot work (no such mailbox, no such
domain, account disabled); a *soft* one means this message failed but the address may
well be fine (mailbox full, message refused as spam or by policy, sender not
authenticated, too big, a delay, a timeout). Suppressing an address is costly to undo,
so anything that blames the message, the sender or the moment is soft.

The first rule that decides wins:

1. A 4.x.x status, or only 4xx replies: soft.
2. Words that can only be about the sending side (block lists, DMARC, SPF, reverse
   DNS, rate limits, "sender rejected"): soft. They come before the status because
   some servers send them with a 5.1.1.
3. A status that names the address: hard. 5.1.1 no such mailbox, 5.1.2 bad domain,
   5.1.3 bad syntax, 5.1.6 moved, 5.1.10 null MX, 5.4.4 unroutable, 5.7.13 account
   disabled, and Exchange Online's 5.4.1 "Recipient address rejected" (not in the
   directory). Not 5.2.1 "disabled": Gmail also sends it to say a recipient receives
   mail too fast, so its words decide.
4. A status that blames something else: soft. 5.1.7/5.1.8 sender address, 5.2.2
   full, 5.2.3 and 5.3.4 too big, 5.4.6 loop.
5. The words, of the recipient's own lines first, then of the whole report: a shut
   account ("account is blocked", "inactive address") is hard; spam, policy,
   authentication, relaying, quotas, sizes, timeouts, a rejection "after MAIL FROM"
   are soft; unknown users and missing mailboxes, domains or hosts are hard.
6. Still undecided: 5.3.x (remote system), 5.4.x (routing), 5.6.x (content) and 5.7.x
   (policy) are soft; any other 5.x.x, a 5xx reply, or a report that calls the
   failure permanent is hard; anything else is soft, because a bounce that does not
   say what went wrong must not suppress an address on its own.
"""

from __future__ import annotations

import re

from digest.bounces.bounce import Kind

_ENHANCED = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_REPLY = re.compile(r"(?<![\w.=#/-])(?<!\d:)([245]\d\d)(?=[\s,;:)\]-]|$)", re.M)

_HARD_STATUS = frozenset({"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.4.4", "5.7.13"})
_SOFT_STATUS = frozenset({"5.1.7", "5.1.8", "5.2.2", "5.2.3", "5.3.4", "5.4.6"})
_SOFT_LEANING = ("5.3.", "5.4.", "5.6.", "5.7.")
# Exchange Online's directory-based edge blocking: the mailbox is not in the directory.
_NOT_IN_DIRECTORY = re.compile(r"recipient\s+address\s+rejected", re.I)
# Unmistakably about the sending side; some servers send these with 5.1.x codes.
_SENDER_SIDE = re.compile(
    r"spamhaus|spamcop|dnsbl|block ?list|black ?list|blocked using|too many recipients"
    r"|sent to too many|rate limit|at a rate|dmarc|\bspf\b|dkim|reverse dns|\brdns\b|\bptr\b"
    r"|sender (?:address )?rejected|domain of sender|unauthenticated|invalid ip",
    re.I,
)
# The recipient's own account is shut, whatever else the text says ("blocked").
_ACCOUNT_SHUT = re.compile(
    r"account (?:\w+ )?(?:is |has been |was )?(?:blocked|disabled|deactivated|suspended|inactive"
    r"|frozen|closed|terminated)|mailbox is frozen|inactive (?:e-?mail )?address",
    re.I,
)
_SOFT_WORDS = re.compile(
    _SENDER_SIDE.pattern
    + r"|mailbox\W+(?:\w+\W+){0,2}full|(?:folder|inbox|disk|storage) (?:is )?full|quota"
    r"|insufficient (?:disk|storage|system storage)|too many messages|exceeded the local limit"
    r"|size limit|too (?:large|big)|message length exceeds|exceeds? (?:the )?(?:maximum|size)"
    r"|spam|junk|\bbulk\b|blocked|\brbl\b|reputation|policy|authenticat"
    r"|not (?:permitted|allowed|authori[sz]ed)|relay|frequency|too many connections"
    r"|greylist|try again later|temporar(?:y|ily)|timed? ?out|connection (?:refused|reset)"
    r"|virus|content (?:rejected|filter)|(?:mail|message) (?:was )?(?:rejected|refused)"
    r"|header error|\bloop\b|hop count|misconfigured|access denied|domain filter"
    r"|limit exceeded|after (?:mail from|initial connection|helo|ehlo)|not accepting connections"
    r"|一杯|いっぱい|容量",
    re.I,
)
_HARD_WORDS = re.compile(
    r"user unknown|unknown (?:user|recipient|e-?mail address|address|local.?part)"
    r"|recipient unknown|no such (?:user|recipient|mailbox|address|account|person)"
    r"|(?:does not|doesn'?t|did not) exist|not exist|recip(?:ient)?notfound"
    r"|(?:address|recipient|user|mailbox|account) (?:was )?not found"
    r"|(?:couldn'?t|could not|cannot|can'?t) be found|not (?:a )?(?:valid|registered)\b"
    r"|invalid (?:recipient|address|mailbox|user)|is not a registered|not listed in"
    r"|not recognized|no mailbox|mailbox not available|no longer (?:in use|available|active|valid)"
    r"|(?:account|mailbox|address|user)(?: \w+)? (?:is |has been )?"
    r"(?:disabled|deactivated|inactive|frozen|closed|suspended|expired|terminated)"
    r"|(?:host|domain)(?: name)? (?:not found|unknown|does not exist)|unknown host"
    r"|host unknown|no mx\b|no mail exchanger|mx record|unroutable|unrouteable"
    r"|name service error|no valid recipients|doesn'?t have an? [\w.-]+ account|has moved"
    r"|host [\w.-]+ not found|存在しない|存在しません|宛先不明|見つかりません",
    re.I,
)
_PERMANENT = re.compile(r"permanent|fatal error", re.I)
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


def kind_for(status: str | None, *texts: str, permanent: bool) -> Kind:
    """Hard or soft, by the rules in the module docstring. ``texts`` are failure
    texts, the most specific first (a recipient's diagnostic, then the whole report);
    only the first is read for rule 2. ``permanent``: the report calls it a failure."""
    replies = [code for text in texts for code in reply_codes(text)]
    if status and status.startswith("4"):
        return "soft"
    if status is None and replies and all(r.startswith("4") for r in replies):
        return "soft"
    if any(_SENDER_SIDE.search(text) for text in texts[:1]):
        return "soft"
    if status in _HARD_STATUS:
        return "hard"
    if status == "5.4.1" and any(_NOT_IN_DIRECTORY.search(text) for text in texts):
        return "hard"
    if status in _SOFT_STATUS:
        return "soft"
    for text in texts:
        decided = kind_by_words(text)
        if decided:
            return decided
    if status and status.startswith(_SOFT_LEANING):
        return "soft"
    if permanent or (status or "").startswith("5") or any(r.startswith("5") for r in replies):
        return "hard"
    if any(_PERMANENT.search(text) for text in texts):
        return "hard"
    return "soft"


def kind_by_words(text: str) -> Kind | None:
    """What the words of a failure text say, if anything."""
    if _ACCOUNT_SHUT.search(text):
        return "hard"
    if _SOFT_WORDS.search(text):
        return "soft"
    if _HARD_WORDS.search(text):
        return "hard"
    return None
