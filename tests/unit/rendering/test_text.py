"""Summaries: cleaned for HTML, turned into wrapped plain text."""

from __future__ import annotations

from digest.rendering.text import clean_summary, one_line, summary_text


def test_clean_summary_keeps_simple_markup_and_drops_the_rest() -> None:
    dirty = (
        '<p class="x" onclick="y()">A <strong>b</strong> <a href="javascript:z()">c</a> '
        '<a href="https://e.example/">d</a><!-- note --><script>s()</script></p>'
    )
    cleaned = clean_summary(dirty)
    assert cleaned == (
        '<p>A <strong>b</strong> <a rel="noopener noreferrer">c</a> '
        '<a href="https://e.example/" rel="noopener noreferrer">d</a></p>'
    )


def test_summary_text_is_plain_wrapped_and_unescaped() -> None:
    text = summary_text(
        "<p>One &amp; two &lt;b&gt;</p><ul><li>first</li><li>second</li></ul>"
        "<p>" + "word " * 60 + "</p>"
    )
    paragraphs = text.split("\n\n")
    assert paragraphs[:3] == ["One & two <b>", "- first", "- second"]
    assert all(len(line) <= 72 for line in text.splitlines())
    assert paragraphs[3].replace("\n", " ") == ("word " * 60).strip()


def test_one_line() -> None:
    assert one_line(" a\r\n b\t c ") == "a b c"
