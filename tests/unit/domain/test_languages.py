"""Languages offered to readers, and reading a browser's Accept-Language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.domain.languages import (
    LANGUAGES,
    LanguageError,
    direction,
    parse_language,
    preferred,
)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB;q=0.5, de", "de"),  # quality, not order, decides
        ("pt-BR,pt;q=0.9,es;q=0.4", "es"),  # the first one offered
        ("ja, zh;q=0.9", "en"),  # none offered: the default
        ("ar;q=0, fr;q=0.2", "fr"),  # q=0 means "not this one"
        ("*", "en"),
        ("es;q=0.5, *;q=0.9", "en"),  # any language, preferred: the default
        ("", "en"),
        ("fr;q=abc, de;q=0.1", "de"),  # a quality that is not a number counts as 0
        ("de, fr", "de"),  # equal quality: the order of the header
        ("AR", "ar"),
        ("<script>", "en"),
    ],
)
def test_the_browsers_highest_ranked_offered_language_wins(header: str, chosen: str) -> None:
    assert preferred(header) == chosen


def test_the_site_default_stands_in_when_nothing_matches() -> None:
    assert preferred("ja", default="de") == "de"
    assert preferred(None, default="fr") == "fr"


@given(st.text(max_size=300))
def test_any_header_gives_an_offered_language(header: str) -> None:
    assert preferred(header) in LANGUAGES


def test_codes_are_read_leniently_and_refused_clearly() -> None:
    assert parse_language("fr") == "fr"
    assert parse_language(" FR ") == "fr"
    assert parse_language("es-MX") == "es"
    assert parse_language("de_AT") == "de"
    for bad in ("", "xx", "english", "fr-", "f r", "ar;q=1"):
        with pytest.raises(LanguageError, match="use one of en, es, fr, de, ar"):
            parse_language(bad)


def test_arabic_is_written_right_to_left() -> None:
    assert direction("ar") == "rtl"
    assert direction("ar-EG") == "rtl"
    assert {direction(code) for code in LANGUAGES if code != "ar"} == {"ltr"}
