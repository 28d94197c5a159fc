"""Summaries cleaned for HTML and turned into wrapped plain text; one-line strings."""

from __future__ import annotations

import html
import re
import textwrap

from digest.sanitise import clean_summary_html

TEXT_WIDTH = 72

_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<\s*(br|/p|/li|/blockquote|/ul|/ol)\b[^>]*>", re.IGNORECASE)
_ITEM = re.compile(r"<\s*li\b[^>]*>", re.IGNORECASE)


def one_line(value: str) -> str:
    """``value`` with every run of whitespace (CR/LF included) made one space."""
    return " ".join(value.split())


def clean_summary(summary_html: str) -> str:
    """The summary as safe HTML: a small set of tags, http(s)/mailto links only,
    no comments (which also keeps the inlining markers unforgeable)."""
    # Defence in depth: summaries were sanitised when stored; this is the same policy.
    return clean_summary_html(summary_html)


def summary_text(summary_html: str, width: int = TEXT_WIDTH) -> str:
    """The summary as plain text: paragraphs wrapped at ``width``, list items dashed."""
    marked = _ITEM.sub("\n- ", clean_summary(summary_html))
    spaced = _BREAK.sub("\n", marked)
    # Tags go before entities are decoded, so "&lt;b&gt;" stays the text "<b>".
    lines = [one_line(html.unescape(_TAG.sub(" ", line))) for line in spaced.split("\n")]
    return "\n\n".join(textwrap.fill(line, width) for line in lines if line)
