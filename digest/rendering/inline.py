"""CSS inlining with premailer, for whole documents and for fragments.

A fragment (table rows) is inlined inside the email's own layout, so it gets exactly
the style attributes it would get in the full email (descendant selectors included),
then cut back out between two marker comments. Article summaries cannot carry
comments (they are cleaned with comments stripped) and titles are escaped, so the
markers cannot be forged by content.
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


def _transform(html: str) -> str:
    inline_calls.add()
    return Premailer(
        html,
        keep_style_tags=False,
        remove_classes=False,
        strip_important=False,
        # Never fetch anything: no <link> stylesheets, no external files.
        allow_network=False,
        allow_loading_external_files=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        cache_css_parsing=True,
        # Keep the width the template gives images and tables (Outlook needs pixels).
        disable_basic_attributes=["width", "height"],
    ).transform(pretty_print=False)


def inline_css(html: str) -> str:
    """Move a document's CSS into ``style`` attributes. Rules that cannot be inlined
    (``@media``, including dark mode) stay in a ``<style>`` block, and so does a
    ``<style data-premailer="ignore">`` block. The HTML5 doctype is kept."""
    out = _transform(html)
    if not out.lstrip().lower().startswith("<!doctype"):
        out = "<!doctype html>\n" + out
    return out


def inline_fragment(fragment: str, before: str, after: str) -> str:
    """Inline ``fragment`` as if it sat between ``before`` and ``after`` (the two
    halves of the email's layout, not yet inlined), and return it alone."""
    out = _transform(f"{before}{_START}{fragment}{_END}{after}")
    start, end = out.find(_START), out.find(_END)
    if start < 0 or end < start or out.count(_START) != 1 or out.count(_END) != 1:
        raise RuntimeError("CSS inlining lost or duplicated the fragment markers")
    return out[start + len(_START) : end]
