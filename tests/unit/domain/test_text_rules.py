"""The one rule for text from outside: control characters, bidirectional controls in
names, addresses that mix look-alike scripts, and the page a consent record names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.domain.consent import consent_page
from digest.domain.text import (
    TextError,
    address_problem,
    allowed_pattern,
    check_text,
    one_line_name,
    script_of,
    text_problem,
)

C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize("char", [*C0, "\x7f", *C1])
def test_every_control_character_is_refused_in_a_line(char: str) -> None:
    problem = text_problem(f"Ana{char}Lima")
    assert problem == f"must not contain control characters (found U+{ord(char):04X})"


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_text_that_spans_lines_keeps_tabs_and_line_breaks(char: str) -> None:
    assert text_problem(f"one{char}two", lines=True) is None
    assert text_problem(f"one{char}two") is not None


@pytest.mark.parametrize("char", ["\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b"])
def test_text_that_spans_lines_still_refuses_the_other_controls(char: str) -> None:
    assert text_problem(f"one{char}two", lines=True) is not None


@pytest.mark.parametrize("char", BIDI)
def test_names_refuse_bidirectional_controls_other_text_keeps_them(char: str) -> None:
    problem = text_problem(f"evil{char}gpj.exe", name=True)
    assert problem is not None and f"U+{ord(char):04X}" in problem
    assert "bidirectional" in problem
    assert text_problem(f"evil{char}gpj.exe") is None


def test_a_lone_surrogate_is_not_text() -> None:
    assert text_problem("a\ud800b") == "is not valid Unicode text (found the lone surrogate U+D800)"


@given(st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs"))))
def test_text_without_controls_is_kept(value: str) -> None:
    assert text_problem(value) is None
    assert text_problem(value, lines=True) is None


@given(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20),
    st.booleans(),
    st.booleans(),
)
def test_the_documented_pattern_keeps_what_the_rule_keeps(
    value: str, lines: bool, name: bool
) -> None:
    pattern = re.compile(allowed_pattern(lines=lines, name=name))
    # fullmatch: unlike JSON Schema's, Python's $ also matches before a final line break.
    assert (pattern.fullmatch(value) is not None) == (
        text_problem(value, lines=lines, name=name) is None
    )


def test_check_text_names_the_field() -> None:
    assert check_text("name", "Ana") == "Ana"
    with pytest.raises(TextError) as caught:
        check_text("name", "A\x1b[31m")
    assert caught.value.field == "name"
    assert str(caught.value) == "name must not contain control characters (found U+001B)"


def test_a_name_is_one_line_with_single_spaces_or_none() -> None:
    assert one_line_name("name", "  Ana   Lima ", 200) == "Ana Lima"
    assert one_line_name("name", "   ", 200) is None
    assert one_line_name("name", None, 200) is None
    assert one_line_name("name", "Zoë Ñúñez 李", 200) == "Zoë Ñúñez 李"
    for bad in ("Ana\nLima", "Ana\x00", "\x01Ana", "Ana\u202e", "x" * 201):
        with pytest.raises(TextError) as caught:
            one_line_name("name", bad, 200)
        assert caught.value.field == "name"


def test_scripts_of_letters() -> None:
    assert [script_of(c) for c in "aаαא日あア한-1"] == [
        "Latin",
        "Cyrillic",
        "Greek",
        "Hebrew",
        "Han",
        "Hiragana",
        "Katakana",
        "Hangul",
        None,
        None,
    ]


@pytest.mark.parametrize(
    "address",
    [
        "reader@example.org",
        "müller@example.de",
        "иван@пример.рф",
        "reader@пример.рф",
        "x@例え.jp",
        "x@한국.kr",
        "a@ελληνικά.gr",
        "o'brien-2@sub-1.example.org",
    ],
)
def test_single_script_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("a@ex\u0430mple.org", "mixes Latin and Cyrillic letters in 'exаmple'"),
        ("a@p\u0430ypal.example.org", "mixes Latin and Cyrillic letters"),
        ("a@g\u03bfogle.org", "mixes Latin and Greek letters"),
        ("\u0430dmin@example.org", "mixes Latin and Cyrillic letters before the @"),
        ("ana\u202e@example.org", "bidirectional text controls (found U+202E)"),
    ],
)
def test_look_alike_addresses_are_refused_with_the_reason(address: str, why: str) -> None:
    problem = address_problem(address)
    assert problem is not None and why in problem


BASE = "https://news.example.org/digest"


@pytest.mark.parametrize(
    "claimed",
    [
        None,
        "",
        "https://evil.example/x",
        "https://news.example.org@evil.example/x",
        "http://news.example.org/x",
        "https://news.example.org:8443/x",
        "https://news.example.org/a b",
        "https://news.example.org/\x00",
        "javascript:alert(1)",
        "//news.example.org/x",
        "https://news.example.org/" + "x" * 2000,
    ],
)
def test_a_consent_names_the_sites_own_page_unless_a_page_of_the_site_is_given(
    claimed: str | None,
) -> None:
    assert consent_page(BASE, claimed) == "https://news.example.org/digest/subscribe"


def test_a_page_of_the_same_site_is_kept() -> None:
    page = "https://news.example.org/newsletters?from=footer"
    assert consent_page(BASE, page) == page
    assert consent_page(BASE + "/", None) == "https://news.example.org/digest/subscribe"
