"""Delivery states, the moves between them, what an SMTP reply means, and back-off.

Pure: the sender turns every SMTP conversation into a :class:`Reply`; these rules
decide what it means for the delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DEFERRED = "deferred"
FAILED = "failed"

STATES = (QUEUED, SENDING, SENT, DEFERRED, FAILED)
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SENDING}),
    # To deferred also when a stale claim (a worker that died mid-send) is released.
    SENDING: frozenset({SENT, DEFERRED, FAILED}),
    DEFERRED: frozenset({SENDING}),
    FAILED: frozenset({QUEUED}),  # an operator's retry
    SENT: frozenset(),  # final: a digest is never sent twice
}

# The header each sent digest carries its delivery's VERP token in: bounces that quote
# the original message's headers but not its envelope still name the delivery.
DELIVERY_HEADER = "X-Digest-Delivery"

# A session that failed (no connection, a 421 greeting, the connection lost on the
# way) said nothing about the messages: they are tried again after at most this, not
# after the back-off of an answer about the message itself.
SESSION_RETRY = timedelta(minutes=1)

# Back-off never waits longer than this between two attempts.
MAX_DELAY = timedelta(hours=6)

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")


def can_move(src: str, dst: str) -> bool:
    """Whether a delivery may go from ``src`` to ``dst``."""
    return dst in TRANSITIONS.get(src, frozenset())


@dataclass(frozen=True)
class Reply:
    """The end of one delivery attempt: the SMTP reply, or ``code=None`` when there
    was none (connection refused or dropped, timeout)."""

    code: int | None
    enhanced_code: str | None
    text: str


def parse_enhanced_code(text: str) -> str | None:
    """The RFC 3463 status code (``class.subject.detail``) opening a reply's text."""
    match = _ENHANCED.match(text)
    return ".".join(match.groups()) if match else None


def outcome(reply: Reply) -> str:
    """2xx: sent; 5xx: failed; 4xx, no reply or anything odd: deferred."""
    if reply.code is None:
        return DEFERRED
    if 200 <= reply.code < 300:
        return SENT
    if 500 <= reply.code < 600:
        return FAILED
    return DEFERRED


def is_permanent(reply: Reply) -> bool:
    """Whether trying again cannot help (a 5xx reply)."""
    return outcome(reply) == FAILED


def next_attempt_at(
    *,
    first_queued_at: datetime,
    attempts: int,
    now: datetime,
    first_delay: timedelta,
    max_age: timedelta,
) -> datetime | None:
    """When to try again after ``attempts`` attempts, or None to give up.

    The wait doubles with each attempt (``first_delay``, 2×, 4×…, at most
    :data:`MAX_DELAY`); a retry that would fall after ``first_queued_at + max_age``
    is not made.
    """
    if first_delay <= timedelta(0):
        raise ValueError(f"first_delay must be positive (got {first_delay})")
    exponent = max(attempts - 1, 0)
    # Compare before multiplying: first_delay * 2**exponent overflows timedelta.
    if exponent >= 64 or 2**exponent >= MAX_DELAY / first_delay:
        delay = MAX_DELAY
    else:
        delay = first_delay * 2**exponent
    when = now + delay
    if when > first_queued_at + max_age:
        return None
    return when


def why_not_send(
    status: str, paused_until: datetime | None, suppressed: bool, now: datetime
) -> str | None:
    """Why a digest may not go to this subscriber at ``now``; None when it may.
    Asked when a digest is built and again just before it is sent."""
    if status != "active":
        return f"subscriber is {status}"
    if suppressed:
        return "address is suppressed"
    if paused_until is not None and paused_until > now:
        return "subscriber paused their digests"
    return None
