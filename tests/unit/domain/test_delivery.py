"""Delivery rules: what a reply means, which moves are allowed, when to try again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.domain import delivery as rules
from digest.domain.delivery import Reply

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIRST = timedelta(minutes=5)
MAX_AGE = timedelta(days=3)


def after(attempts: int, now: datetime = T0, first: timedelta = FIRST) -> datetime | None:
    return rules.next_attempt_at(
        first_queued_at=T0, attempts=attempts, now=now, first_delay=first, max_age=MAX_AGE
    )


def test_outcome_of_replies() -> None:
    assert rules.outcome(Reply(250, "2.0.0", "2.0.0 OK")) == rules.SENT
    assert rules.outcome(Reply(251, None, "will forward")) == rules.SENT
    assert rules.outcome(Reply(451, "4.3.0", "4.3.0 try later")) == rules.DEFERRED
    assert rules.outcome(Reply(421, None, "closing")) == rules.DEFERRED
    assert rules.outcome(Reply(None, None, "connection lost")) == rules.DEFERRED
    assert rules.outcome(Reply(None, None, "timed out after 30 s")) == rules.DEFERRED
    assert rules.outcome(Reply(550, "5.7.1", "5.7.1 rejected")) == rules.FAILED
    assert rules.outcome(Reply(554, None, "transaction failed")) == rules.FAILED
    assert rules.outcome(Reply(354, None, "odd")) == rules.DEFERRED
    assert rules.outcome(Reply(999, None, "nonsense")) == rules.DEFERRED


def test_only_5xx_is_permanent() -> None:
    assert rules.is_permanent(Reply(550, "5.1.1", "5.1.1 no such user"))
    assert not rules.is_permanent(Reply(452, "4.2.2", "4.2.2 mailbox full"))
    assert not rules.is_permanent(Reply(None, None, "connection refused"))
    assert not rules.is_permanent(Reply(250, None, "OK"))


def test_parse_enhanced_code() -> None:
    assert rules.parse_enhanced_code("5.1.1 <x@y>: Recipient address rejected") == "5.1.1"
    assert rules.parse_enhanced_code("4.7.0 greylisted") == "4.7.0"
    assert rules.parse_enhanced_code("2.0.0") == "2.0.0"
    assert rules.parse_enhanced_code("5.7.133 long detail") == "5.7.133"
    assert rules.parse_enhanced_code("Requested action not taken") is None
    assert rules.parse_enhanced_code("3.1.1 nonsense") is None
    assert rules.parse_enhanced_code("5.1.1234 too many digits") is None
    assert rules.parse_enhanced_code("see 5.1.1 later in the text") is None
    assert rules.parse_enhanced_code("") is None


def test_transitions() -> None:
    allowed = {
        (rules.QUEUED, rules.SENDING),
        (rules.DEFERRED, rules.SENDING),
        (rules.SENDING, rules.SENT),
        (rules.SENDING, rules.DEFERRED),
        (rules.SENDING, rules.FAILED),
        (rules.FAILED, rules.QUEUED),
    }
    for src in rules.STATES:
        for dst in rules.STATES:
            assert rules.can_move(src, dst) == ((src, dst) in allowed), (src, dst)
    assert not rules.can_move("unknown", rules.SENDING)


def test_back_off_doubles_then_caps_then_gives_up() -> None:
    assert after(1) == T0 + timedelta(minutes=5)
    assert after(2) == T0 + timedelta(minutes=10)
    assert after(3) == T0 + timedelta(minutes=20)
    assert after(7) == T0 + timedelta(minutes=320)
    assert after(8) == T0 + rules.MAX_DELAY
    assert after(20) == T0 + rules.MAX_DELAY
    assert after(10**6) == T0 + rules.MAX_DELAY
    # The next wait would end after the maximum age: give up.
    assert after(5, T0 + MAX_AGE - timedelta(minutes=1)) is None
    assert after(1, T0 + MAX_AGE - timedelta(minutes=5)) == T0 + MAX_AGE


def test_back_off_never_overflows() -> None:
    assert after(60, first=timedelta(days=1)) == T0 + rules.MAX_DELAY
    assert after(1, first=timedelta(days=1)) == T0 + rules.MAX_DELAY


def test_back_off_needs_a_positive_first_delay() -> None:
    with pytest.raises(ValueError, match="first_delay"):
        after(1, first=timedelta(0))


@given(
    attempts=st.integers(1, 200),
    minutes_later=st.integers(0, 4 * 24 * 60),
    first_seconds=st.integers(1, 3 * 24 * 3600),
)
def test_back_off_properties(attempts: int, minutes_later: int, first_seconds: int) -> None:
    now = T0 + timedelta(minutes=minutes_later)
    first = timedelta(seconds=first_seconds)
    this = after(attempts, now, first)
    later = after(attempts + 1, now, first)
    if this is None:
        # Once there is no next attempt, there is none after more attempts either.
        assert later is None
        return
    assert now < this <= T0 + MAX_AGE
    assert this - now <= rules.MAX_DELAY
    # A later attempt never waits less.
    assert later is None or later - now >= this - now
