"""The words and status codes each bounce reason is found by, in the order the
classifier (:mod:`digest.bounces.classify`) reads them."""

from __future__ import annotations

import re

from digest.domain.bounce_policy import Reason


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.I)


# What the words say, in order: the first that matches decides.
WORDS: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    # Our own account at the relay: refused before any reader's mailbox was asked.
    (
        "rejected",
        _words(
            r"sender account|account (?:is )?(?:not )?(?:allowed|permitted) to send|sendasdenied",
            r"sending (?:paused|disabled|suspended) for (?:this|your) account",
        ),
    ),
    ("rate_limited", _words(r"sending (?:quota|limit)")),
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
            r"connections not accepted from servers without|not listed in our allowed senders",
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
            r"rate limit|at a rate|too (?:fast|quickly)"
            r"|too many (?:messages|e-?mails|mails"
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
            r"recipient name is not recognized|no mailbox|mailbox not available",
            r"not listed in (?:the )?(?:[\w&]+ ){0,3}(?:directory|address book)",
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
BY_STATUS: dict[str, Reason] = {
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
