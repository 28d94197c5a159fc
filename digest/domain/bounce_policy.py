"""Why a message bounced (its *reason*) and what the bounce policy does about it.

Every bounce, complaint, automatic reply and synchronous refusal gets one reason from
a fixed list, close to the one the Sisimai project uses (its documentation describes
each reason; the rules that find them are ours, in :mod:`digest.bounces.classify`).
The policy maps each reason to one action:

- ``suppress``: the address is gone; suppress it at once (after ``hard_bounce_limit``
  such bounces, 1 unless configured). An unknown user or host said with a 4.x.x
  status (a soft bounce) counts as ``soft`` instead;
- ``repeat``: suppress after ``repeat_limit`` of them (an account shut may reopen);
- ``soft``: count against ``soft_bounce_limit`` within ``soft_bounce_days``;
- ``sender``: the reply blames our sending (our IP, name, authentication, content,
  how fast we send): never counted against the reader, shown to operators as a
  sender-health alert;
- ``complaint``: the reader asked to stop; unsubscribe and suppress at once;
- ``ignore``: stored and nothing more (deliveries, automatic replies).

The defaults suppress at once only for an unknown user, an unknown host and an
address that moved; a policy written as ``reason=action,…`` (``DIGEST_BOUNCE_POLICY``)
changes single rows of the bounce reasons and keeps the rest (complaints, automatic
replies and deliveries keep theirs).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

Reason = Literal[
    "user_unknown",
    "host_unknown",
    "has_moved",
    "mailbox_full",
    "message_too_big",
    "suspended",
    "filtered",
    "blocked",
    "rejected",
    "spam_detected",
    "policy_violation",
    "auth_failure",
    "network_error",
    "system_error",
    "expired",
    "too_many_connections",
    "rate_limited",
    "delivered",
    "vacation",
    "feedback",
    "undetermined",
]
REASONS: tuple[Reason, ...] = get_args(Reason)

# In words, for pages and the command line.
DESCRIPTIONS: Mapping[Reason, str] = MappingProxyType(
    {
        "user_unknown": "no such mailbox at that domain",
        "host_unknown": "the domain does not exist or takes no mail",
        "has_moved": "the reader moved to another address",
        "mailbox_full": "the mailbox is full",
        "message_too_big": "the message is larger than the receiver takes",
        "suspended": "the account exists but is disabled or suspended",
        "filtered": "the receiver's or reader's own filter refused it",
        "blocked": "our sending IP or its reputation was refused",
        "rejected": "our sender address or server name was refused",
        "spam_detected": "the content was taken for spam",
        "policy_violation": "the receiver's policy refused the message",
        "auth_failure": "SPF, DKIM or DMARC failed for our mail",
        "network_error": "the network or DNS failed on the way",
        "system_error": "the receiving system failed or was unavailable",
        "expired": "delivery was given up after retrying too long",
        "too_many_connections": "we opened too many connections",
        "rate_limited": "we sent too fast, or the mailbox received too much",
        "delivered": "a delivery report, not a failure",
        "vacation": "an automatic reply",
        "feedback": "a complaint or unsubscribe request from the reader",
        "undetermined": "the report does not say what went wrong",
    }
)

# A permanent failure of these says the address itself is gone.
ADDRESS_GONE: frozenset[Reason] = frozenset({"user_unknown", "host_unknown", "has_moved"})
# These say the receiver refused *us*: our IP, name, authentication, content or pace.
SENDER_SIDE: frozenset[Reason] = frozenset(
    {
        "blocked",
        "rejected",
        "spam_detected",
        "policy_violation",
        "auth_failure",
        "too_many_connections",
        "rate_limited",
    }
)
# Not bounces of a reader's address: their rows of the policy do not change.
FIXED: frozenset[Reason] = frozenset({"delivered", "vacation", "feedback"})

Action = Literal["suppress", "repeat", "soft", "sender", "complaint", "ignore"]
ACTIONS: tuple[Action, ...] = get_args(Action)

DEFAULT_POLICY: Mapping[Reason, Action] = MappingProxyType(
    {
        **dict.fromkeys(REASONS, "soft"),
        **dict.fromkeys(ADDRESS_GONE, "suppress"),
        **dict.fromkeys(SENDER_SIDE, "sender"),
        "suspended": "repeat",
        "delivered": "ignore",
        "vacation": "ignore",
        "feedback": "complaint",
    }
)


def parse_policy(text: str) -> dict[Reason, Action]:
    """The default policy with the rows of ``text`` (``reason=action,…``) changed.

    Raises ValueError naming the reason or action it does not know."""
    policy: dict[Reason, Action] = dict(DEFAULT_POLICY)
    for item in text.replace(";", ",").split(","):
        if not item.strip():
            continue
        reason, sep, action = (
            part.strip().lower().replace("-", "_") for part in item.partition("=")
        )
        if not sep:
            raise ValueError(f"{item.strip()!r} is not reason=action")
        if reason not in REASONS:
            raise ValueError(f"unknown bounce reason {reason!r} (known: {', '.join(REASONS)})")
        if reason in FIXED:
            fixed = DEFAULT_POLICY[reason]  # type: ignore[index]
            raise ValueError(f"{reason} is not a bounce: its action ({fixed}) is fixed")
        choices = [a for a in ACTIONS if a != "complaint"]
        if action not in choices:
            raise ValueError(
                f"unknown action {action!r} for {reason} (known: {', '.join(choices)})"
            )
        policy[reason] = action  # type: ignore[index, assignment]
    return policy


def describe(policy: Mapping[Reason, Action]) -> str:
    """``policy`` as ``reason=action`` for the rows that differ from the default."""
    changed = [f"{r}={a}" for r, a in policy.items() if DEFAULT_POLICY[r] != a]
    return ",".join(changed) or "default"
