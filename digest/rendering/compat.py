"""Which parts of an email some clients do not render, for the editor preview.

``check(html)`` lists each CSS property, property value, CSS function and HTML element
the email uses that caniemail marks unsupported or partial in Gmail, Outlook on
Windows, Apple Mail or Yahoo Mail. The data ships in ``data/caniemail.json`` (MIT,
licence beside it), made by ``compat_data``, which also says which kinds of feature
are not checked. CSS is read from ``style`` attributes and ``<style>`` blocks; markup
inside conditional comments (``<!--[if mso]>``) is not read, as it only exists for
Outlook.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from typing import Any, Literal, NamedTuple

Support = Literal["unsupported", "partial"]

# caniemail family -> the name editors see, in the order findings list them.
CLIENTS = {
    "gmail": "Gmail",
    "outlook": "Outlook (Windows)",
    "apple-mail": "Apple Mail",
    "yahoo": "Yahoo Mail",
}
# The type an <input> or <button> has when its type attribute is missing.
_DEFAULT_TYPES = {"input": "text", "button": "submit"}

_PROPERTY = re.compile(r"-?[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_KEYWORD = re.compile(r"-?[a-z][a-z0-9-]*")
_FUNCTION = re.compile(r"(-?[a-z][a-z0-9-]*)\(")
_IMPORTANT = re.compile(r"!\s*important\s*$")
_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)


class ClientSupport(NamedTuple):
    """How one client family handles a feature the email uses."""

    client: str
    support: Support
    note: str | None


@dataclass(frozen=True)
class Finding:
    """A caniemail feature the email uses that some client does not fully support."""

    slug: str
    title: str
    kind: Literal["css", "html"]
    matched: str  # what the email uses: "display:flex", "margin-left", "<video>"
    clients: tuple[ClientSupport, ...]

    @property
    def unsupported(self) -> bool:
        """Whether some client does not render it at all."""
        return any(c.support == "unsupported" for c in self.clients)


# --- what the email uses -----------------------------------------------------------


@dataclass
class _Usage:
    elements: set[tuple[str, str | None]] = field(default_factory=set)
    declarations: list[tuple[str, str]] = field(default_factory=list)


def _declaration(text: str) -> Iterator[tuple[str, str]]:
    name, colon, value = text.partition(":")
    name = name.strip().lower()
    if colon and _PROPERTY.fullmatch(name):  # custom properties (--x) are not checked
        yield name, _IMPORTANT.sub("", value.strip().lower()).strip()


def declarations(css: str, *, block: bool) -> Iterator[tuple[str, str]]:
    """``(property, value)`` pairs, lower-cased and without ``!important``, from a
    stylesheet or (``block=True``) the inside of one block such as a style attribute.

    Nested blocks (``@media``) are read too; selectors and at-rule preludes are not
    declarations. Quotes and parentheses are respected, so ``url(data:...;base64,...)``
    stays one value."""
    css = _COMMENT.sub(" ", css)
    depth = 1 if block else 0
    start = i = parens = 0
    quote = ""
    while i < len(css):
        char = css[i]
        if char == "\\":
            i += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            parens += 1
        elif char == ")":
            parens = max(0, parens - 1)
        elif char in "{};" and not parens:
            text, start = css[start:i], i + 1
            if char == "{":
                depth += 1
            else:
                if depth:
                    yield from _declaration(text)
                if char == "}":
                    depth = max(0, depth - 1)
        i += 1
    if depth:
        yield from _declaration(css[start:])


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.usage = _Usage()
        self._style: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        kind = None
        if tag in _DEFAULT_TYPES:
            kind = (values.get("type") or _DEFAULT_TYPES[tag]).strip().lower()
        self.usage.elements.add((tag, kind))
        if values.get("style"):
            self.usage.declarations.extend(declarations(values["style"] or "", block=True))
        if tag == "style":
            self._style = []

    def handle_data(self, data: str) -> None:
        if self._style is not None:
            self._style.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._style is not None:
            self.usage.declarations.extend(declarations("".join(self._style), block=False))
            self._style = None


def usage(html: str) -> _Usage:
    """The elements and CSS declarations an HTML document uses."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    collector.handle_endtag("style")  # an unclosed <style> still counts
    return collector.usage


# --- matching against the data -----------------------------------------------------


@cache
def features() -> dict[str, Any]:
    """The shipped caniemail data, by feature slug (read once per process)."""
    data = resources.files("digest.rendering.data").joinpath("caniemail.json")
    return dict(json.loads(data.read_text(encoding="utf-8"))["features"])


Entry = tuple[str, dict[str, str]]  # (feature slug, one of its "match" objects)


@dataclass(frozen=True)
class _Index:
    by_property: dict[str, list[Entry]]  # property -> matches naming it
    by_function: list[Entry]  # matches on a function in any property
    by_element: dict[str, list[Entry]]


@cache
def _index() -> _Index:
    index = _Index({}, [], {})
    for slug, entry in features().items():
        for match in entry["match"]:
            if "element" in match:
                index.by_element.setdefault(match["element"], []).append((slug, match))
            elif "property" in match:
                index.by_property.setdefault(match["property"], []).append((slug, match))
            else:
                index.by_function.append((slug, match))
    return index


def _clients(support: dict[str, Any]) -> tuple[ClientSupport, ...]:
    found = []
    for family, name in CLIENTS.items():
        entry = support.get(family, {})
        if entry.get("status") in ("unsupported", "partial"):
            found.append(ClientSupport(name, entry["status"], entry.get("note")))
    return tuple(found)


def _css_hit(match: dict[str, str], property_: str, value: str) -> str | None:
    """What a declaration shows of a feature's match, or None when it does not match."""
    if "value" in match:
        return (
            f"{property_}:{match['value']}" if match["value"] in _KEYWORD.findall(value) else None
        )
    if "function" in match:
        if match["function"] not in _FUNCTION.findall(value):
            return None
        return (
            f"{property_}: {match['function']}()"
            if "property" in match
            else f"{match['function']}()"
        )
    return property_


def _css_matches(property_: str, value: str) -> Iterator[tuple[str, str]]:
    """``(feature slug, what matched)`` for one declaration."""
    index = _index()
    hits = []
    for slug, match in [*index.by_property.get(property_, ()), *index.by_function]:
        hit = _css_hit(match, property_, value)
        if hit is not None:
            hits.append((slug, hit, "value" in match))
    by_value = any(is_value for _, _, is_value in hits)
    for slug, hit, _ in hits:
        # display:flex is reported by its own feature, not also as plain "display".
        if not (by_value and hit == property_):
            yield slug, hit


def check(html: str) -> list[Finding]:
    """Every feature the email uses that a client renders partly or not at all: the
    ones some client does not render at all first, then by title."""
    used = usage(html)
    matched: dict[str, set[str]] = {}
    for property_, value in set(used.declarations):
        for slug, hit in _css_matches(property_, value):
            matched.setdefault(slug, set()).add(hit)
    by_element = _index().by_element
    for tag, kind in used.elements:
        for slug, match in by_element.get(tag, ()):
            if "type" not in match:
                matched.setdefault(slug, set()).add(f"<{tag}>")
            elif match["type"] == kind:
                matched.setdefault(slug, set()).add(f'<{tag} type="{kind}">')
    data = features()
    findings = []
    for slug, hits in matched.items():
        entry = data[slug]
        clients = _clients(entry["support"])
        if clients:
            kind_: Literal["css", "html"] = "css" if entry["category"] == "css" else "html"
            findings.append(Finding(slug, entry["title"], kind_, ", ".join(sorted(hits)), clients))
    findings.sort(key=lambda f: (not f.unsupported, f.title.lower(), f.slug))
    return findings
