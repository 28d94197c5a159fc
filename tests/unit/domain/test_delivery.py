"""Delivery rules: what a reply means, and when to try again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from digest.domain import delivery as rules
from digest.domain.delivery import Reply

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIRST = timedelta(minutes=5)
MAX_AGE = timedelta(days=3)


def test_outcome_of_replies() -> None:
    assert rules.outcome(Reply(250, "2.0.0", "2.0.0 OK")) == rules.SENT
    assert rules.outcome(Reply(451, "4.3.0", "4.3.0 try later")) == rules.DEFERRED
    assert rules.outcome(Reply(421, None, "closing")) == rules.DEFERRED
    assert rules.outcome(Reply(None, None, "connection lost")) == rules.DEFERRED
    assert rules.outcome(Reply(550, "5.7.1", "5.7.1 rejected")) == rules.FAILED
    assert rules.outcome(Reply(354, None, "odd")) == rules.DEFERRED


def test_hard_bounce_is_a_permanent_bad_address() -> None:
    assert rules.is_hard_bounce(Reply(550, "5.1.1", "5.1.1 no such user"))
    assert rules.is_hard_bounce(Reply(553, None, "5.1.3 bad address syntax"))
    assert not rules.is_hard_bounce(Reply(550, "5.7.1", "5.7.1 policy"))
    assert not rules.is_hard_bounce(Reply(450, "4.1.1", "4.1.1 mailbox busy"))


def test_parse_enhanced_code() -> None:
    assert rules.parse_enhanced_code("5.1.1 <x@y>: Recipient address rejected") == "5.1.1"
    assert rules.parse_enhanced_code("4.7.0 greylisted") == "4.7.0"
    assert rules.parse_enhanced_code("Requested action not taken") is None
    assert rules.parse_enhanced_code("3.1.1 nonsense") is None


def test_transitions() -> None:
    assert rules.can_move(rules.QUEUED, rules.SENDING)
    assert rules.can_move(rules.SENDING, rules.DEFERRED)
    assert rules.can_move(rules.DEFERRED, rules.SENDING)
    assert not rules.can_move(rules.SENT, rules.SENDING)
    assert not rules.can_move(rules.QUEUED, rules.SENT)


def test_back_off_doubles_then_caps_then_gives_up() -> None:
    def after(n: int, now: datetime) -> datetime | None:
        return rules.next_attempt_at(
            first_queued_at=T0, attempts=n, now=now, first_delay=FIRST, max_age=MAX_AGE
        )

    assert after(1, T0) == T0 + timedelta(minutes=5)
    assert after(2, T0) == T0 + timedelta(minutes=10)
    assert after(3, T0) == T0 + timedelta(minutes=20)
    assert after(20, T0) == T0 + rules.MAX_DELAY
    assert after(5, T0 + MAX_AGE - timedelta(minutes=1)) is None


@given(st.integers(1, 200), st.integers(0, 4 * 24 * 60))
def test_back_off_properties(attempts: int, minutes_later: int) -> None:
    now = T0 + timedelta(minutes=minutes_later)
    first = rules.next_attempt_at(
        first_queued_at=T0, attempts=attempts, now=now, first_delay=FIRST, max_age=MAX_AGE
    )
    second = rules.next_attempt_at(
        first_queued_at=T0, attempts=attempts + 1, now=now, first_delay=FIRST, max_age=MAX_AGE
    )
    if first is not None:
        assert now < first <= T0 + MAX_AGE
        assert first - now <= rules.MAX_DELAY
        # A later attempt never waits less.
        assert second is None or second >= first
