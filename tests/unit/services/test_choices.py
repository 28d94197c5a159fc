"""Parsing the topic, time and zone fields of the reader forms."""

from __future__ import annotations

import pytest

from digest.services.readers.choices import Choices, FormErrors, choices_from_form

KNOWN = ["tech", "world"]


def test_a_good_form_gives_the_choices() -> None:
    fields = {
        "topics": ["world", "tech", "world"],
        "frequency-world": ["weekly"],
        "hour": ["18"],
        "timezone": ["America/Sao_Paulo"],
        "weekday": ["fri"],
        "name": ["  Ana   Lima "],
    }
    choices = choices_from_form(fields, KNOWN)
    assert choices == Choices(
        topics={"world": "weekly", "tech": "daily"},
        hour=18,
        timezone="America/Sao_Paulo",
        weekday=4,
        name="Ana Lima",
    )
    assert Choices.from_json(choices.to_json()) == choices


def test_each_bad_field_is_named() -> None:
    fields = {
        "topics": ["tech"],
        "frequency-tech": ["hourly"],
        "hour": ["24"],
        "timezone": ["Europe/Atlantis"],
        "weekday": ["someday"],
        "name": ["x" * 201],
    }
    with pytest.raises(FormErrors) as caught:
        choices_from_form(fields, KNOWN)
    assert set(caught.value.errors) == {"frequency-tech", "hour", "timezone", "weekday", "name"}


def test_no_topic_or_an_unknown_one_is_refused() -> None:
    with pytest.raises(FormErrors) as caught:
        choices_from_form({"hour": ["7"]}, KNOWN)
    assert {k: str(v) for k, v in caught.value.errors.items()} == {
        "topics": "pick at least one topic"
    }
    with pytest.raises(FormErrors) as caught:
        choices_from_form({"topics": ["sport"]}, KNOWN)
    assert {k: str(v) for k, v in caught.value.errors.items()} == {"topics": "unknown topic sport"}
