"""The circuit breaker heals: once it has been open for its cool-down, it goes
half-open, sends a few of the held-back messages as probes, and closes by itself when
most of them are accepted. While they fail it stays open, tries again after a longer
cool-down, and says so on the dashboard, in ``/api/stats`` and in a WARNING log line.

Only a pause the breaker made is healed: an operator's pause stays until an operator
resumes, and an operator's resume or pause always wins over the breaker's state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Delivery
from digest.domain import delivery as rules
from digest.mail.sender import Sender
from digest.services.sending.breaker import BREAKER
from digest.services.sending.controls import (
    breaker_trips,
    pause_state,
    set_breaker_trips,
    set_sending_paused,
    switch_locked,
)
from digest.services.sending.delivering import Clock, claim, prepare, send_outgoing

log = logging.getLogger(__name__)

# The cool-down doubles after each failed try, up to this.
LONGEST_COOLDOWN = timedelta(hours=1)
TRYING = " (trying a few messages now)"


@dataclass(frozen=True)
class Healing:
    """What one call did: ``closed`` (sending resumed), ``probes`` sent, how many of
    them were ``accepted``, and when the next try is due if it stays open."""

    closed: bool
    probes: int = 0
    accepted: int = 0
    next_try_at: datetime | None = None


def cooldown(settings: Settings, trips: int) -> timedelta:
    """How long the breaker stays open after its ``trips``-th failed try (0: tripped)."""
    return min(settings.breaker_cooldown * 2 ** min(trips, 10), LONGEST_COOLDOWN)


def next_probe_at(session: Session, settings: Settings) -> datetime | None:
    """When the open breaker next sends probes; None when the breaker did not pause
    sending (it runs, or an operator paused it)."""
    state = pause_state(session)
    if not state.paused or state.by != BREAKER or state.at is None:
        return None
    return state.at + cooldown(settings, breaker_trips(session))


def heal(database_url: str, settings: Settings, sender: Sender, clock: Clock) -> Healing | None:
    """Probe and perhaps close the breaker, if it is open and its cool-down is over;
    None when there was nothing to do."""
    now = clock()
    with unit_of_work(database_url) as session:
        # Most sweeps find the breaker closed: tell without taking the switch's lock.
        due = next_probe_at(session, settings)
    if due is None or now < due:
        return None
    with unit_of_work(database_url) as session:
        switch_locked(session, now)  # one healer at a time: read again under the lock
        due = next_probe_at(session, settings)
        if due is None or now < due:
            return None
        # The verdict that tripped it, without what earlier tries added to it.
        reason = (pause_state(session).reason or BREAKER).split("; ")[0]
        reason = reason.removesuffix(TRYING)
        ready = list(
            session.scalars(
                select(Delivery.id)
                .where(
                    or_(
                        Delivery.status == rules.QUEUED,
                        and_(Delivery.status == rules.DEFERRED, Delivery.next_attempt_at <= now),
                    )
                )
                .order_by(Delivery.id)
                .limit(settings.breaker_probes)
            )
        )
        probes = claim(session, ready, now)
        if not probes:
            _close(session, now, "nothing was waiting to be sent")
            return Healing(closed=True)
        # Still paused, but marked as trying now: a second healer waits a cool-down.
        set_sending_paused(session, True, BREAKER, now, reason + TRYING)
    with unit_of_work(database_url) as session:
        outgoing = prepare(session, probes, settings, now)
    report = send_outgoing(database_url, outgoing, settings, sender, clock, probing=True)
    accepted = report.sent
    with unit_of_work(database_url) as session:
        switch_locked(session, now)
        state = pause_state(session)
        if not state.paused or state.by != BREAKER:
            return Healing(closed=not state.paused, probes=len(probes), accepted=accepted)
        if 2 * accepted > len(probes):
            _close(session, clock(), f"{accepted} of {len(probes)} probes were accepted")
            return Healing(closed=True, probes=len(probes), accepted=accepted)
        trips = breaker_trips(session) + 1
        set_breaker_trips(session, trips, clock())
        at = clock()
        next_try = at + cooldown(settings, trips)
        text = (
            f"{reason}; {len(probes) - accepted} of {len(probes)} probes at "
            f"{at:%H:%M} UTC were not accepted, next try at {next_try:%H:%M} UTC"
        )
        set_sending_paused(session, True, BREAKER, at, text)
    log.warning("sending stays paused: %s", text)
    return Healing(closed=False, probes=len(probes), accepted=accepted, next_try_at=next_try)


def _close(session: Session, now: datetime, why: str) -> None:
    set_sending_paused(session, False, BREAKER, now)
    log.warning("the circuit breaker closed, sending resumes: %s", why)
