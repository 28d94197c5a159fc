"""CSS inlining with premailer, for whole documents and for fragments.

A fragment (a table row) is inlined inside a minimal document that carries the same
stylesheet, then cut back out between two marker comments, so that it gets exactly
the style attributes it would get inside the full email.
"""

from __future__ import annotations

import logging
import threading

from premailer import Premailer

_START = "<!--digest-fragment-start-->"
_END = "<!--digest-fragment-end-->"


class Counter:
    """How many times premailer ran in this process (for tests and the benchmark)."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.calls += 1


inline_calls = Counter()


def inline_document(html: str) -> str:
    """Move the document's CSS into ``style`` attributes; rules that cannot be
    inlined (``@media``, including dark mode) stay in a ``<style>`` block."""
    inline_calls.add()
    return Premailer(
        html,
        keep_style_tags=False,
        remove_classes=False,
        strip_important=False,
        allow_network=False,
        allow_loading_external_files=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        cache_css_parsing=True,
        # Keep the width the template gives images and tables (Outlook needs pixels).
        disable_basic_attributes=["width", "height"],
    ).transform(pretty_print=False)


def inline_email(html: str) -> str:
    """:func:`inline_document`, keeping the HTML5 doctype (lxml drops it)."""
    out = inline_document(html)
    if not out.lstrip().lower().startswith("<!doctype"):
        out = "<!doctype html>\n" + out
    return out


def inline_fragment(fragment: str, stylesheet: str) -> str:
    """Inline ``fragment`` (one or more ``<tr>`` rows) as if it sat in the email."""
    document = (
        f"<html><head><style>{stylesheet}</style></head><body>"
        f"<table>{_START}{fragment}{_END}</table></body></html>"
    )
    out = inline_document(document)
    start, end = out.find(_START), out.find(_END)
    if start < 0 or end < start:
        raise RuntimeError("CSS inlining lost the fragment markers")
    return out[start + len(_START) : end]
