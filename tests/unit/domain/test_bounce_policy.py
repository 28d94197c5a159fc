"""The bounce policy table: its safe defaults and how a configuration changes it."""

from __future__ import annotations

import pytest

from digest.config import load_settings
from digest.config.parsing import ConfigError
from digest.domain.bounce_policy import (
    ADDRESS_GONE,
    DEFAULT_POLICY,
    DESCRIPTIONS,
    REASONS,
    SENDER_SIDE,
    describe,
    parse_policy,
)


def test_by_default_only_a_gone_address_suppresses_at_once() -> None:
    assert {r for r, a in DEFAULT_POLICY.items() if a == "suppress"} == ADDRESS_GONE
    assert {"user_unknown", "host_unknown", "has_moved"} == ADDRESS_GONE
    assert DEFAULT_POLICY["suspended"] == "repeat"
    assert DEFAULT_POLICY["mailbox_full"] == "soft"
    assert DEFAULT_POLICY["feedback"] == "complaint"
    assert DEFAULT_POLICY["vacation"] == DEFAULT_POLICY["delivered"] == "ignore"


def test_reasons_that_blame_our_sending_never_count_against_the_reader() -> None:
    assert {
        "blocked",
        "rejected",
        "spam_detected",
        "policy_violation",
        "auth_failure",
        "too_many_connections",
        "rate_limited",
    } == SENDER_SIDE
    assert all(DEFAULT_POLICY[r] == "sender" for r in SENDER_SIDE)


def test_every_reason_has_words_and_an_action() -> None:
    assert set(DESCRIPTIONS) == set(DEFAULT_POLICY) == set(REASONS)
    assert len(REASONS) == 21


def test_a_policy_changes_single_rows_and_keeps_the_rest() -> None:
    policy = parse_policy(" Suspended = suppress ; mailbox-full=ignore,")
    assert policy["suspended"] == "suppress" and policy["mailbox_full"] == "ignore"
    assert policy["user_unknown"] == "suppress" and policy["blocked"] == "sender"
    assert describe(policy) == "mailbox_full=ignore,suspended=suppress"  # in the order of REASONS
    assert describe(parse_policy("")) == "default"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nope=soft", "unknown bounce reason 'nope'"),
        ("suspended=never", "unknown action 'never' for suspended"),
        ("suspended", "'suspended' is not reason=action"),
        ("feedback=ignore", "feedback is not a bounce: its action"),
        ("mailbox_full=complaint", "unknown action 'complaint' for mailbox_full"),
    ],
)
def test_a_bad_policy_is_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_policy(text)
    with pytest.raises(ConfigError, match="DIGEST_BOUNCE_POLICY: " + words):
        load_settings({"DIGEST_BOUNCE_POLICY": text})


def test_settings_carry_the_policy() -> None:
    settings = load_settings({"DIGEST_BOUNCE_POLICY": "filtered=sender"})
    assert settings.bounce_action("filtered", "soft") == "sender"
    assert settings.bounce_action("user_unknown", "hard") == "suppress"
    # A gone address said in a delay or a 4xx counts as soft, never suppresses at once.
    assert settings.bounce_action("user_unknown", "soft") == "soft"
    # Events stored before reasons existed go by their kind.
    assert settings.bounce_action(None, "hard") == "suppress"
    assert settings.bounce_action(None, "soft") == "soft"
    assert load_settings({}).repeat_bounce_limit == 2
