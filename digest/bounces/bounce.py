"""What one report says about one recipient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from digest.domain.bounce_policy import Reason

# hard: the address is bad for good; soft: this attempt failed but the address may
# work later; complaint: the subscriber asked to stop; auto-reply: a person's (or a
# mailbox's) automatic answer; not-bounce: nothing to act on.
Kind = Literal["hard", "soft", "complaint", "auto-reply", "not-bounce"]

# Which reader decided: an RFC 3464 delivery-status report, an RFC 5965 feedback
# report, an Amazon SES notification, the heuristics for everything else, the
# RFC 3834 auto-reply rules, nothing at all, or an input the parser could not read.
How = Literal["dsn", "arf", "ses", "fallback", "auto-reply", "none", "error"]

MAX_DIAGNOSTIC = 500


@dataclass(frozen=True)
class Bounce:
    """One recipient's fate, as told by a bounce, complaint or automatic reply."""

    kind: Kind
    how: How
    reason: Reason = "undetermined"  # why, see digest.domain.bounce_policy
    recipient: str | None = None  # the failed or complaining address, lowercased
    status: str | None = None  # RFC 3463 enhanced status, e.g. "5.1.1"
    action: str | None = None  # RFC 3464 Action, lowercased, e.g. "failed"
    diagnostic: str | None = None  # one line, at most MAX_DIAGNOSTIC characters
    reporter: str | None = None  # reporting MTA, or the feedback type of a complaint
    message_id: str | None = None  # Message-ID of our original message
    delivery_ref: str | None = None  # X-Digest-Delivery of our original message
    verp_token: str | None = None  # TOKEN of bounces+TOKEN@… that the report came back to


def one_line(text: str | None, limit: int = MAX_DIAGNOSTIC) -> str | None:
    """``text`` with its whitespace collapsed and cut to ``limit`` characters."""
    if not text:
        return None
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line or None
