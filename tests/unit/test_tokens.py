"""Signed link tokens: bound to a purpose and a subscriber row, never an address."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from digest.tokens import (
    ExpiredToken,
    InvalidToken,
    make_timed_token,
    make_token,
    read_timed_token,
    read_token,
    stamp_of,
)

CREATED = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_a_token_names_the_subscriber_and_their_creation_and_nothing_else() -> None:
    token = make_token("k", "preferences", 42, stamp_of(CREATED))
    assert read_token("k", "preferences", token) == (42, stamp_of(CREATED))
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert b"@" not in payload and payload == f"[42,{stamp_of(CREATED)}]".encode()


def test_the_stamp_tells_apart_rows_that_reuse_an_id() -> None:
    assert stamp_of(CREATED) != stamp_of(CREATED + timedelta(microseconds=1))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[: len(t) // 2],
        lambda t: "x" + t,
    ],
)
def test_tampered_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    token = make_token("k", "unsubscribe", 7, 1)
    with pytest.raises(InvalidToken):
        read_token("k", "unsubscribe", mangle(token))


def test_a_token_works_only_for_its_purpose_and_key() -> None:
    token = make_token("k", "unsubscribe", 7, 1)
    with pytest.raises(InvalidToken):
        read_token("k", "preferences", token)
    with pytest.raises(InvalidToken):
        read_token("other", "unsubscribe", token)
    with pytest.raises(InvalidToken):
        read_timed_token("k", "confirm", token, timedelta(days=1))


def test_a_confirmation_token_expires() -> None:
    token = make_timed_token("k", "confirm", 5)
    assert read_timed_token("k", "confirm", token, timedelta(days=1)) == 5
    with pytest.raises(ExpiredToken):
        read_timed_token("k", "confirm", token, timedelta(seconds=-1))
