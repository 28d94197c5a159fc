"""The circuit breaker: sending pauses by itself when the relays' latest answers say
that sending on would hurt.

Most attempts throttled (421, or an enhanced 4.7.x code) means receivers are limiting
us; many permanent failures (5xx) mean a bad list or a block. Each further message
would cost the sending domain reputation, so every worker stops, the deliveries it
still holds go back to deferred unsent, and an operator resumes once the cause is
dealt with. The attempts judged are the latest ones in ``delivery_attempts``, shared
by all workers; those made before the last resume no longer count.

Reports that come back later count too: when, within the last hour (and since the
last resume), reports tied to our digests blame our sending (blocked, rejected,
spam, policy, authentication, pace) for at least ``breaker_min_attempts`` digests,
and for at least ``breaker_failure_share`` of those sent in the last day, sending
pauses (:func:`check_reports`, run by bounce intake).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.models import BounceEvent, Control, Delivery, DeliveryAttempt
from digest.domain.bounce_policy import SENDER_SIDE
from digest.services.sending.controls import (
    BREAKER_AFTER,
    breaker_after,
    pause_state,
    pause_unless_paused,
)

BREAKER = "circuit breaker"  # who paused sending, as the dashboard shows it

Answer = tuple[int | None, str | None]  # an attempt's reply code and enhanced code


def is_throttled(code: int | None, enhanced_code: str | None) -> bool:
    """A receiver asking us to slow down: 421, or a 4.7.x (e.g. 4.7.0 rate limited)."""
    return code == 421 or (enhanced_code or "").startswith("4.7.")


def is_refused(code: int | None) -> bool:
    """A permanent failure: a 5xx reply."""
    return code is not None and 500 <= code < 600


def verdict(answers: Sequence[Answer], settings: Settings) -> str | None:
    """Why sending must pause, judging ``answers`` (the latest attempts); None when
    there are too few of them or their shares stay under the thresholds."""
    total = len(answers)
    if total < settings.breaker_min_attempts:
        return None
    throttled = sum(1 for code, enhanced in answers if is_throttled(code, enhanced))
    refused = sum(1 for code, _ in answers if is_refused(code))
    share = settings.breaker_throttle_share
    if share and throttled >= share * total:
        return f"{BREAKER}: {throttled} of the last {total} attempts were throttled (421 / 4.7.x)"
    share = settings.breaker_failure_share
    if share and refused >= share * total:
        return f"{BREAKER}: {refused} of the last {total} attempts failed permanently (5xx)"
    return None


def latest_answers(session: Session, settings: Settings) -> list[Answer]:
    """The latest ``breaker_window`` attempts since sending last resumed, newest first."""
    rows = session.execute(
        select(DeliveryAttempt.code, DeliveryAttempt.enhanced_code)
        .where(DeliveryAttempt.id > breaker_after())
        .order_by(DeliveryAttempt.id.desc())
        .limit(settings.breaker_window)
    )
    return [(code, enhanced) for code, enhanced in rows]


def check(session: Session, settings: Settings, now: datetime) -> str | None:
    """Run after each group of attempts is recorded: why the send loop must stop now
    (sending was paused, or this check pauses it), or None to go on."""
    state = pause_state(session)
    if state.paused:
        return f"sending paused: {state.reason or 'by ' + (state.by or 'an operator')}"
    if not (settings.breaker_throttle_share or settings.breaker_failure_share):
        return None
    reason = verdict(latest_answers(session, settings), settings)
    if reason is None:
        return None
    pause_unless_paused(session, reason, BREAKER, now)
    return f"sending paused: {reason}"


# How far back reports that blame our sending are counted, and how far back the
# digests they may be about (a report can come hours after its message).
REPORT_WINDOW = timedelta(hours=1)
SENT_WINDOW = timedelta(hours=24)
# How a report names the digest it is about (the HMAC-checked VERP token or header, or
# our random Message-ID): only such reports count, so a forged one naming nothing of
# ours cannot pause sending (digest.services.bounces.matching.TIED).
_TIED = ("verp", "header", "message-id")


def check_reports(session: Session, settings: Settings, now: datetime) -> str | None:
    """Pause sending when bounce reports that blame our sending pile up (see the
    module docstring): at least ``breaker_min_attempts`` digests of the last day were
    reported on so within the last hour (since the last resume), and they make at
    least ``breaker_failure_share`` of the digests sent in the last day. Only reports
    tied to a digest of ours count, each digest once. The reason when it paused,
    else None."""
    share = settings.breaker_failure_share
    if not share or pause_state(session).paused:
        return None
    since = now - REPORT_WINDOW
    resumed = session.scalar(select(Control.updated_at).where(Control.key == BREAKER_AFTER))
    if resumed is not None and resumed > since:
        since = resumed
    blamed = int(
        session.scalar(
            select(func.count(func.distinct(BounceEvent.delivery_id))).where(
                BounceEvent.reason.in_(sorted(SENDER_SIDE)),
                BounceEvent.kind.in_(("hard", "soft")),
                BounceEvent.source != "relay",  # refusals are attempts, judged above
                BounceEvent.matched_by.in_(_TIED),
                BounceEvent.delivery_id.is_not(None),
                BounceEvent.received_at > since,
            )
        )
        or 0
    )
    if blamed < settings.breaker_min_attempts:
        return None
    sent = int(
        session.scalar(select(func.count()).where(Delivery.sent_at > now - SENT_WINDOW)) or 0
    )
    if blamed < share * max(sent, 1):
        return None
    reason = (
        f"{BREAKER}: in the last hour, bounce reports blamed our sending for {blamed} "
        f"of the {sent} digests sent in the last day"
    )
    pause_unless_paused(session, reason, BREAKER, now)
    return reason
