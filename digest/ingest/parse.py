"""Parsing RSS and Atom with feedparser into plain items, with sanitised HTML.

feedparser accepts almost anything and reports problems in ``bozo``; the items of a
feed that is not well formed are still used.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser
import nh3

from digest.sanitise import clean_summary_html

LINK_SCHEMES = ("http://", "https://", "mailto:")
MAX_TITLE = 500
MAX_SUMMARY = 20_000
MAX_URL = 2000  # the width of the url columns
MAX_GUID = 1000
# Text a database refuses (NUL, in PostgreSQL) or that means nothing in an email.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Block boundaries become spaces, so "<p>a</p><p>b</p>" reads "a b", not "ab".
_BLOCK = re.compile(r"<(?=/?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|blockquote|hr)\b)", re.I)


@dataclass(frozen=True)
class ParsedItem:
    guid: str
    url: str  # "" when the entry has no usable link; such items are not stored
    title: str
    summary_html: str
    author: str | None = None
    image_url: str | None = None
    published_at: datetime | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    items: list[ParsedItem]
    problem: str | None = None  # what was wrong with the document, if anything


def scrub(text: str) -> str:
    """``text`` without control characters or lone surrogates (from bad encodings)."""
    text = _CONTROL.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8")


def absolute_url(base: str | None, link: str, schemes: tuple[str, ...] = LINK_SCHEMES) -> str:
    """``link`` made absolute against ``base``; "" unless it then has one of ``schemes``."""
    link = scrub(link).strip()
    if not link:
        return ""
    try:
        parts = urlsplit(urljoin(base, link) if base else link)
    except ValueError:
        return ""
    # Scheme and host are case-insensitive; one spelling keeps deduplication by link exact.
    joined = urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))
    if len(joined) > MAX_URL or not joined.startswith(schemes):
        return ""
    return joined


def sanitise_html(fragment: str, base_url: str | None = None) -> str:
    """Keep a few text tags and http(s)/mailto links; drop scripts, styles and handlers.

    Relative links are resolved against ``base_url``: in an email they would otherwise
    point nowhere.
    """

    def resolve(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            return absolute_url(base_url, value) or None
        return value

    return clean_summary_html(scrub(fragment[:MAX_SUMMARY]), resolve).strip()


def plain_text(fragment: str, limit: int = MAX_TITLE) -> str:
    """Text with tags removed, entities decoded and whitespace collapsed."""
    spaced = _BLOCK.sub(" <", scrub(fragment))
    text = html.unescape(nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style"}))
    return " ".join(text.split())[:limit].strip()


def _http(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def _time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    return None


def _image(entry: Any, base: str) -> str | None:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type") or "").lower().startswith("image/"):
            url = _http(
                absolute_url(base, str(enclosure.get("href") or enclosure.get("url") or ""))
            )
            if url:
                return url
    for key in ("media_content", "media_thumbnail"):
        for media in entry.get(key) or []:
            kind = str(media.get("type") or media.get("medium") or "image").lower()
            if kind.startswith("image"):
                url = _http(absolute_url(base, str(media.get("url") or "")))
                if url:
                    return url
    return None


def _summary(entry: Any) -> str:
    for content in entry.get("content") or []:
        if content.get("value"):
            return str(content["value"])
    return str(entry.get("summary") or entry.get("description") or "")


def _guid(entry: Any, link: str, title: str, summary: str) -> str:
    guid = scrub(str(entry.get("id") or entry.get("guid") or "")).strip() or link
    if not guid:
        # No identity at all: the content is the identity.
        guid = "urn:sha1:" + hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()
    elif len(guid) > MAX_GUID:
        guid = "urn:sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    return guid


def parse_item(entry: Any, feed_url: str) -> ParsedItem | None:
    """One entry as an item, or None when it holds nothing at all."""
    link = _http(absolute_url(feed_url, str(entry.get("link") or ""))) or ""
    raw_summary = _summary(entry)
    # RSS lets an item have a description and no title; its opening words stand in.
    title = plain_text(str(entry.get("title") or "")) or plain_text(raw_summary, 120)
    if not (link or title or raw_summary):
        return None
    labels = (
        plain_text(str(t.get("term") or t.get("label") or ""), 100) for t in entry.get("tags") or []
    )
    return ParsedItem(
        guid=_guid(entry, link, title, raw_summary),
        url=link,
        title=title,
        summary_html=sanitise_html(raw_summary, link or feed_url),
        author=plain_text(str(entry.get("author") or ""), 300) or None,
        image_url=_image(entry, link or feed_url),
        published_at=_time(entry),
        categories=tuple(c for c in dict.fromkeys(labels) if c),
    )


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a feed document fetched from ``url``; never raises."""
    problems: list[str] = []
    try:
        # A stream, never bytes: feedparser tries bytes as a local file name first, so a
        # server answering "/etc/some/file.xml" would have us read our own disk.
        parsed = feedparser.parse(
            io.BytesIO(bytes(body)), sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser promises not to raise; a bug in it must not stop us
        return ParsedFeed(None, [], f"cannot parse the feed: {exc}")
    if parsed.get("bozo"):
        problems.append(f"the feed is not well formed: {parsed.get('bozo_exception')}")
    items: list[ParsedItem] = []
    for number, entry in enumerate(parsed.get("entries") or [], start=1):
        try:
            item = parse_item(entry, url)
        except Exception as exc:  # one odd entry must not cost the others
            problems.append(f"entry {number} could not be read: {exc!r}")
            continue
        if item is not None:
            items.append(item)
    if not items and not parsed.get("version"):
        problems.append("not an RSS or Atom feed")
    try:
        title = plain_text(str(parsed.get("feed", {}).get("title") or "")) or None
    except Exception:
        title = None
    return ParsedFeed(title, items, "; ".join(problems) or None)
