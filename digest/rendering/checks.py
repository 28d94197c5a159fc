"""What an editor should know about a message before it goes out: its size against
Gmail's clipping, images without ``alt``, links that are not absolute ``https``, and
what some email clients do not render (:mod:`digest.rendering.compat`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from digest.domain.text import counted
from digest.mail.message import quoted_printable
from digest.rendering import compat

# Gmail shows "[Message clipped]" and hides the rest of a message whose HTML passes
# about 102 KB; the unsubscribe link in the footer is then out of sight. Its own
# documentation gives no exact figure; 102 × 1024 bytes of the encoded HTML part is
# the limit publishers measure.
GMAIL_CLIP_BYTES = 102 * 1024
# Below the limit but close enough that a few more articles would pass it.
SIZE_WARNING_BYTES = 90 * 1024
# Schemes a link may use besides https: they open no web page.
_OTHER_SCHEMES = ("mailto:", "tel:")
# At most this many offending images or links are named; the count says the rest.
NAMED = 10

Level = Literal["ok", "info", "warning", "error"]


@dataclass(frozen=True)
class Check:
    """One check: its level, a sentence, and the items it is about."""

    name: str
    level: Level
    summary: str
    items: tuple[str, ...] = ()
    findings: tuple[compat.Finding, ...] = ()


def size_check(encoded_html_bytes: int) -> Check:
    kb = encoded_html_bytes / 1024
    limit = GMAIL_CLIP_BYTES / 1024
    if encoded_html_bytes > GMAIL_CLIP_BYTES:
        return Check(
            "size",
            "error",
            f"The HTML part is {kb:.1f} KB encoded, over Gmail's {limit:.0f} KB: "
            "Gmail will clip it and hide the rest, unsubscribe link included.",
        )
    if encoded_html_bytes > SIZE_WARNING_BYTES:
        return Check(
            "size",
            "warning",
            f"The HTML part is {kb:.1f} KB encoded, close to Gmail's {limit:.0f} KB "
            "clipping limit.",
        )
    return Check(
        "size", "ok", f"The HTML part is {kb:.1f} KB encoded (Gmail clips at {limit:.0f} KB)."
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images = 0
        self.images_without_alt: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images += 1
            if "alt" not in values:
                self.images_without_alt.append(values.get("src") or "(no src)")
        elif tag == "a" and "href" in values:
            self.links.append((values["href"] or "").strip())


def _named(items: list[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(items))
    shown = unique[:NAMED]
    if len(unique) > NAMED:
        shown.append(f"… and {len(unique) - NAMED} more")
    return tuple(shown)


def check_message(html: str) -> list[Check]:
    """Every check of the HTML part ``html``, in the order the preview shows them."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    checks = [size_check(len(quoted_printable(html)))]
    missing = parser.images_without_alt
    if missing:
        checks.append(
            Check(
                "alt",
                "warning",
                f"{len(missing)} of {counted(parser.images, 'image')} {have(len(missing))} "
                "no alt text "
                "(shown when images are blocked, and read by screen readers).",
                _named(missing),
            )
        )
    elif parser.images:
        alt = "The image has" if parser.images == 1 else f"All {parser.images} images have"
        checks.append(Check("alt", "ok", f"{alt} alt text."))
    else:
        checks.append(Check("alt", "ok", "The message has no image."))
    insecure = [
        link for link in parser.links if not link.lower().startswith(("https://", *_OTHER_SCHEMES))
    ]
    if insecure:
        checks.append(
            Check(
                "links",
                "warning",
                f"{len(insecure)} of {counted(len(parser.links), 'link')} {_not_https(insecure)} "
                "(mail clients cannot resolve relative links, and plain http is flagged "
                "by some as unsafe).",
                _named(insecure),
            )
        )
    else:
        checks.append(
            Check(
                "links",
                "ok",
                "The link is an absolute https URL."
                if len(parser.links) == 1
                else f"All {len(parser.links)} links are absolute https URLs.",
            )
        )
    findings = sorted(compat.check(html), key=lambda f: not f.unsupported)
    if findings:
        missing_in: dict[str, list[str]] = {}
        for f in findings:
            for c in f.clients:
                if c.support == "unsupported":
                    missing_in.setdefault(c.client, []).append(f.matched)
        summary = (
            f"{len(findings)} features the message uses are not fully supported by some "
            "email clients."
        )
        summary += "".join(
            f" {client} does not render {', '.join(names)}."
            for client, names in sorted(missing_in.items())
        )
        checks.append(
            Check(
                "compat",
                "warning" if missing_in else "info",
                summary,
                findings=tuple(findings),
            )
        )
    else:
        checks.append(
            Check(
                "compat",
                "ok",
                "Every feature the message uses is supported by Gmail, Outlook (Windows), "
                "Apple Mail and Yahoo Mail.",
            )
        )
    return checks


def have(n: int) -> str:
    return "has" if n == 1 else "have"


def _not_https(insecure: list[str]) -> str:
    if len(insecure) == 1:
        return "is not an absolute https URL"
    return "are not absolute https URLs"
