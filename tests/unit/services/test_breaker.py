"""The circuit breaker's judgement over the latest attempts' reply codes."""

from __future__ import annotations

from digest.config import Settings, load_settings
from digest.services.sending.breaker import is_throttled, verdict

OK = (250, "2.0.0")
THROTTLED = (421, "4.7.0")
GREYLISTED = (451, "4.7.1")
BUSY = (451, "4.3.0")
REFUSED = (550, "5.1.1")
NO_REPLY = (None, None)


def settings(**values: str) -> Settings:
    env = {"DIGEST_BREAKER_WINDOW": "50", "DIGEST_BREAKER_MIN_ATTEMPTS": "20", **values}
    return load_settings(
        {"DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789", **env}
    )


def test_throttling_is_421_or_an_enhanced_4_7_code() -> None:
    assert is_throttled(421, None) and is_throttled(451, "4.7.1") and is_throttled(450, "4.7.0")
    assert not is_throttled(451, "4.3.0") and not is_throttled(550, "5.7.1")
    assert not is_throttled(None, None)


def test_too_few_attempts_are_not_judged() -> None:
    assert verdict([THROTTLED] * 19, settings()) is None


def test_half_the_attempts_throttled_trips_it() -> None:
    answers = [THROTTLED] * 20 + [GREYLISTED] * 5 + [OK] * 25
    assert verdict(answers, settings()) == (
        "circuit breaker: 25 of the last 50 attempts were throttled (421 / 4.7.x)"
    )
    assert verdict([THROTTLED] * 24 + [OK] * 26, settings()) is None


def test_other_deferrals_and_missing_replies_are_neither_throttled_nor_refused() -> None:
    assert verdict([BUSY] * 25 + [NO_REPLY] * 25, settings()) is None


def test_permanent_failures_past_their_share_trip_it() -> None:
    answers = [REFUSED] * 15 + [OK] * 35
    assert verdict(answers, settings()) == (
        "circuit breaker: 15 of the last 50 attempts failed permanently (5xx)"
    )
    assert verdict([REFUSED] * 14 + [OK] * 36, settings()) is None


def test_a_share_of_zero_turns_that_check_off() -> None:
    off = settings(DIGEST_BREAKER_THROTTLE_SHARE="0", DIGEST_BREAKER_FAILURE_SHARE="0")
    assert verdict([THROTTLED] * 50, off) is None
    assert verdict([REFUSED] * 50, off) is None
