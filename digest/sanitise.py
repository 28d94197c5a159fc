"""The one HTML policy for article summaries: applied when an article is stored and
again when it is rendered, so both always agree on what may reach an email."""

from __future__ import annotations

from collections.abc import Callable

import nh3

SUMMARY_TAGS = {"a", "p", "br", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote"}
AttributeFilter = Callable[[str, str, str], str | None]


def clean_summary_html(fragment: str, attribute_filter: AttributeFilter | None = None) -> str:
    """Keep a few text tags and http(s)/mailto links; drop scripts, styles, event
    handlers and comments. ``attribute_filter`` may rewrite or drop attribute values
    (e.g. make links absolute)."""
    return nh3.clean(
        fragment,
        tags=SUMMARY_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style"},
        strip_comments=True,
        attribute_filter=attribute_filter,
    )
