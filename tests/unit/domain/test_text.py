"""Counts in words: one noun, in the right number, wherever a count is shown."""

from __future__ import annotations

from digest.domain.text import counted


def test_counts_name_their_noun_in_the_right_number() -> None:
    assert counted(1, "article") == "1 article"
    assert counted(0, "article") == "0 articles"
    assert counted(3, "article") == "3 articles"
    assert counted(2, "reply", "replies") == "2 replies"
