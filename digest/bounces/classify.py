"""Why a delivery failed (a *reason*, see :mod:`digest.domain.bounce_policy`) and
whether the address itself is gone (*hard*) or may work later (*soft*).

One classifier for every reply: a delivery-status report, a bounce in prose and a
relay's refusal during the SMTP conversation all come here with a status code (RFC
3463, when there is one) and their failure texts, most specific first.

The reason, by the first rule that decides:

1. The words of the texts, the most specific text first, in the order of
   :data:`_WORDS`: a full mailbox, a size, an account shut, then what blames the
   sender (authentication, block lists and our IP, our sender address or name,
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
3. No words: the status code (:data:`_BY_STATUS`), most specific first: 5.1.1 an
   unknown user, 5.2.1 a mailbox that exists but refuses, 5.7.26 an authentication
   failure, …
4. Nothing else: *undetermined*. A failure nobody explains ("554 Transaction
   failed", an empty diagnostic with 5.0.0, a 503) blames no one.

The kind: *hard* only for a user unknown, a host unknown or an address that moved,
and never for a delay (``Action: delayed``, or a report announcing one); everything
else is *soft*. A reason found in the words makes a hard bounce even with a 4xx reply
(some servers say "user unknown" with 450); a reason found only in a 4.x.x status
does not.
"""

from __future__ import annotations

import re

from digest.bounces.bounce import Kind
from digest.domain.bounce_policy import ADDRESS_GONE, Reason

_ENHANCED = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_REPLY = re.compile(r"(?<![\w.=#/-])(?<!\d:)([245]\d\d)(?=[\s,;:)\]-]|$)", re.M)


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.I)


# What the words say, in order: the first that matches decides.
_WORDS: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    (
        "mailbox_full",
        _words(
            r"mailbox\W+(?:\w+\W+){0,3}(?:is )?full|(?:folder|inbox|disk|storage"
            r"|mailfolder) (?:is )?full",
            r"over ?quota|quota (?:exceeded|full)|exceeded (?:the |his |her |their )?(?:storage"
            r"|quota)",
            r"insufficient (?:disk|storage|system storage)|out of storage"
            r"|mailbox exceeds allowed size",
            r"exceeded the local limit|mailbox (?:size )?limit exceeded|一杯|いっぱい|容量",
        ),
    ),
    (
        "message_too_big",
        _words(
            r"message (?:is )?too (?:large|big)|too (?:large|big) for|size limit"
            r"|exceeds? (?:the )?(?:maximum|fixed maximum|size)",
            r"message (?:length|size) exceeds|message size (?:is )?(?:over|above)|mesg too big",
        ),
    ),
    (
        "suspended",
        _words(
            r"account (?:\w+ )?(?:is |has been |was )?(?:blocked|disabled|deactivated|suspended"
            r"|inactive"
            r"|frozen|closed|terminated|locked|expired|unavailable)",
            r"(?:mailbox|user|recipient) (?:is |has been )?(?:disabled|deactivated|suspended"
            r"|frozen|locked)",
            r"temporar(?:y|ily) locked|disabled (?:recipient|user|mailbox|address)"
            r"|inactive (?:e-?mail )?(?:address|account|user)",
            r"(?:email|e-mail|mail) account that you tried to reach is (?:disabled|inactive)",
            r"inbox is out of storage space and inactive|compte du destinataire est bloque",
        ),
    ),
    (
        "auth_failure",
        _words(
            r"\bspf\b|\bdkim\b(?!-signature)|dmarc|sender policy framework|domainkeys",
            r"authentication (?:required|failed|failure|checks?)|not authenticated|unauthenticated",
            r"authentication information|fails? to pass (?:spf|dkim|authentication)",
        ),
    ),
    (
        "blocked",
        _words(
            r"spamhaus|spamcop|sorbs|barracuda|proofpoint|cloudmark|dnsbl|\brbl\b|\bbl\)",
            r"block ?list|black ?list|blocked using|(?<!not )\blisted (?:at|on|in|by)\b|is listed",
            r"reputation|reverse dns|\brdns\b|\bptr\b|ip name lookup failed",
            r"client host (?:\[[^\]]*\] )?(?:rejected|blocked)|client \[[^\]]*\] blocked"
            r"|may not be mail exchanger",
            r"mismatches client ip|banned sending ip|(?:sending |source "
            r"|your )?ip (?:address )?(?:\S+ )?(?:is )?(?:blocked|banned|blacklisted|not allowed"
            r"|rejected|refused)",
            r"blocked ip|invalid ip for sending|host network not allowed|not allowed to send",
            r"adresse ip source bloquee|blocked for spamming|server access .{0,40}(?:forbidden"
            r"|denied)",
            r"sending (?:ip|server|host|mta) .{0,40}(?:blocked|denied|refused)",
            r"connections not accepted from servers without",
            r"messages from [\d.:a-f]+ (?:weren'?t|were not) sent",
        ),
    ),
    (
        "rejected",
        _words(
            r"sender (?:address |domain |e-?mail )?(?:was )?(?:rejected|refused|denied|blocked"
            r"|invalid|unknown|not)",
            r"domain of sender|sender domain|sender verify|unverified sender"
            r"|sender address .{0,40}not",
            r"my name was rejected|invalid domain name|helo|ehlo|from: domain is invalid",
            r"mail ?from domain|mail from:?<[^>]*> .{0,20}(?:rejected|refused)|unroutable sender",
            r"malformed address|send mail as|email address is not verified"
            r"|address .{0,40}sending from",
        ),
    ),
    (
        "rate_limited",
        _words(
            r"rate limit|at a rate|too (?:fast|quickly)|too many (?:messages|e-?mails|mails"
            r"|recipients)",
            r"sent to too many|throttl|frequency limited|unexpected volume|temporarily deferred",
            r"limit exceeded|exceeded .{0,20}limit",
        ),
    ),
    (
        "too_many_connections",
        _words(
            r"too many (?:concurrent |simultaneous )?(?:connections|sessions)|connection (?:limit"
            r"|frequency)",
            r"maximum (?:number of )?connections",
        ),
    ),
    (
        "has_moved",
        _words(
            r"has moved|no longer on (?:this )?server|not our (?:user|customer)|user not local",
            r"address has changed|moved (?:to|permanently)",
        ),
    ),
    (
        "policy_violation",
        # A mailing list that may not exist or may not take our post (Google Groups).
        _words(r"may not exist,? or (?:you )?(?:may )?not have permission|存在しないか"),
    ),
    (
        "user_unknown",
        _words(
            r"user unknown|unknown (?:user|recipient|e-?mail address|address(?! error)|local.?part"
            r"|or illegal)",
            r"recipient unknown|no such (?:user|recipient|mailbox|address|account|person)",
            r"(?:user|mailbox|recipient|account|address|addressee)\W+(?:\w+\W+){0,5}(?:does not"
            r"|doesn'?t|did not) exist",
            r"(?:user|mailbox|recipient) not exist|recip(?:ient)?notfound|recipient ?not ?found",
            r"(?:address|recipient|user|mailbox|account|userid) (?:was )?not found|user not found",
            r"(?:address|account|recipient) (?:couldn'?t|could not|cannot|can'?t) be found"
            r"|wasn.t found at",
            r"invalid (?:recipient|address|mailbox|user|final delivery userid)"
            r"|destinataire invalide",
            r"not (?:a )?(?:valid|registered) (?:user|recipient|address|mailbox)"
            r"|is not a registered",
            r"recipient name is not recognized|not listed in|no mailbox|mailbox not available",
            r"no longer (?:in use|available|active|valid)|no valid recipients",
            r"doesn'?t have an? [\w.-]+ account|check (?:if|that"
            r"|whether) (?:the )?address is correct",
            r"recipient address rejected: access denied|address rejected(?!:)"
            r"|addressee unknown|unknown or illegal",
            r"no such (?:local )?user|存在しない|存在しません|宛先不明|見つかりません",
        ),
    ),
    (
        "network_error",
        _words(
            r"not found, try again|timed? ?out|connection (?:refused|reset|lost|closed|dropped)",
            r"lost connection|no route to host|network (?:is )?unreachable|network error",
            r"unable to connect|establish an smtp connection|refused to talk"
            r"|did not accept our requests to connect",
            r"malformed or unexpected name server reply|name server (?:failure|error|timed? ?out"
            r"|not responding)|dns (?:query|lookup) failed"
            r"|servfail|ldap server",
        ),
    ),
    (
        "host_unknown",
        _words(
            r"host unknown|unknown host|(?:host|domain)(?: or domain)?(?: name)? (?:not found"
            r"|unknown|does not exist)",
            r"no such (?:domain|host)|domain (?:is )?(?:invalid|not exist)|couldn'?t find any host",
            r"(?:couldn'?t|could not|cannot) find a mail exchanger|no mx\b|no mail exchanger"
            r"|mx record",
            r"unroutable|unrouteable|nxdomain|doesn'?t receive email|does not accept mail",
            r"host [\w.-]+ not found|indicated no smtp service|had no relevant answers"
            r"|domain is not reachable",
        ),
    ),
    (
        "spam_detected",
        _words(
            r"spam|junk|\bbulk\b|\bube\b|virus|malware|suspicious|content presents a potential",
        ),
    ),
    (
        "filtered",
        _words(
            r"filter|recipient preferences|refused by (?:the )?recipient"
            r"|rejected by (?:the )?recipient(?! domain)",
            r"not accepting (?:mail|messages) from|blocked by (?:the )?recipient",
        ),
    ),
    (
        "policy_violation",
        _words(
            r"polic(?:y|ies)|not permitted|not allowed|not authori[sz]ed"
            r"|relay(?:ing)? (?:access )?denied",
            r"relaying|access denied|content rejected|header error|headers? too large|rfc ?5322",
            r"multiple addresses in from|duplicate header|8-bit data|line limit"
            r"|purported responsible",
            r"not configured to relay|permission to post"
            r"|may not exist, or you may not have permission",
        ),
    ),
    (
        "system_error",
        _words(
            r"system error|does not support tls|starttls|internal (?:system )?error",
            r"configuration error|mail ?loop|routing loop|lock failure|error while writing",
            r"hop count|too many hops|service (?:currently )?(?:unavailable|not available|refused"
            r"|refuse)",
            r"not accepting connections|resources temporarily|protocol error|i/o error"
            r"|out of memory",
            r"upstream error|mailer error|couldn'?t create|child status|could not load",
        ),
    ),
    (
        "expired",
        _words(
            r"retry time(?:out)? (?:not reached|exceeded)|too long in (?:the )?queue"
            r"|in the queue too long",
            r"giving up|gave up|given up|message expired|envelope expired|queue\.expired",
            r"failing for a long time|delivery failed \d+ attempts|after multiple retries",
            r"unable to deliver in \d+",
        ),
    ),
    # Last: a temporary failure that named no other cause.
    ("network_error", _words(r"try again|temporar(?:y|ily)|not reachable|unreachable")),
)

# The reason a status code names, most specific first (x stands for 4 or 5).
_BY_STATUS: dict[str, Reason] = {
    "x.1.1": "user_unknown",
    "x.1.2": "host_unknown",
    "x.1.3": "user_unknown",
    "x.1.6": "has_moved",
    "x.1.7": "rejected",
    "x.1.8": "rejected",
    "x.1.10": "host_unknown",
    "x.2.0": "filtered",
    "x.2.1": "filtered",
    "x.2.2": "mailbox_full",
    "x.2.3": "message_too_big",
    "x.2.4": "system_error",
    "x.3.1": "system_error",
    "x.3.2": "system_error",
    "x.3.4": "message_too_big",
    "x.4.1": "network_error",
    "x.4.2": "network_error",
    "x.4.3": "network_error",
    "x.4.4": "host_unknown",
    "x.4.5": "system_error",
    "x.4.6": "system_error",
    "x.4.7": "expired",
    "x.5.3": "rate_limited",
    "x.6.": "policy_violation",
    "x.7.1": "policy_violation",
    "x.7.7": "policy_violation",
    "x.7.9": "policy_violation",
    "x.7.13": "suspended",
    "x.7.23": "auth_failure",
    "x.7.24": "auth_failure",
    "x.7.25": "blocked",
    "x.7.26": "auth_failure",
    "x.7.27": "rejected",
    "x.7.": "policy_violation",
    "x.3.": "system_error",
}
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
        reason = _by_words(text)
        if reason is None:
            continue
        generic = "x" + (status or "")[1:]
        if reason in ADDRESS_GONE and _MAILBOX_EXISTS.match(generic):
            return reason_of_status(status)  # x.2.x: the mailbox exists, whatever the words
        if reason in ADDRESS_GONE and (generic in _SENDER_STATUS or _AFTER_MAIL_FROM.search(text)):
            return "rejected"  # the unknown user or domain is our sender's
        if _DIRECTORY_BLOCK.search(text) and generic != "x.4.1":
            return "policy_violation"  # only Exchange Online's 5.4.1 means "not in the directory"
        if reason == "user_unknown" and _AFTER_DATA.search(text):
            return "filtered"  # the address was accepted; the message was not
        return reason
    return reason_of_status(status)


def _by_words(text: str) -> Reason | None:
    plain = _LINK.sub(r"\1", _ADDRESS.sub(" ", text))
    return next((reason for reason, words in _WORDS if words.search(plain)), None)


def reason_of_status(status: str | None) -> Reason:
    """What a status code alone says (rule 2), ``undetermined`` when nothing."""
    if not status or status[0] not in "45":
        return "delivered" if status and status[0] == "2" else "undetermined"
    generic = "x" + status[1:]
    if generic in _BY_STATUS:
        return _BY_STATUS[generic]
    for prefix, reason in _BY_STATUS.items():
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
