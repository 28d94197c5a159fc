"""A secret key that anyone could guess is refused at start: it signs every reader's
links and the console's sessions."""

from __future__ import annotations

import secrets

import pytest

from digest.config import ConfigError, load_settings


def settings_with(key: str):  # type: ignore[no-untyped-def]
    return load_settings({"DIGEST_SECRET_KEY": key})


@pytest.mark.parametrize("key", ["x", "test-secret", "a" * 31, "é" * 15])
def test_a_key_under_32_bytes_is_refused_with_how_to_make_one(key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_with(key)
    message = str(refused.value)
    assert message.startswith("DIGEST_SECRET_KEY is ")
    assert "at least 32 bytes" in message
    assert "secrets.token_urlsafe(32)" in message


@pytest.mark.parametrize(
    "key", ["change-me-to-a-long-random-string", "CHANGE-ME-TO-A-LONG-RANDOM-STRING "]
)
def test_a_published_example_key_is_refused_whatever_its_length(key: str) -> None:
    with pytest.raises(ConfigError, match="DIGEST_SECRET_KEY is a published example"):
        settings_with(key)


def test_a_random_key_and_no_key_at_all_are_taken() -> None:
    key = secrets.token_urlsafe(32)
    assert settings_with(key).secret_key == key
    assert load_settings({}).secret_key is None  # generated and kept beside the database
