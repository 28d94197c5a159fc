"""Parsing RSS and Atom with feedparser into plain items, with sanitised HTML.

feedparser accepts almost anything and reports problems in ``bozo``; an item is
kept whenever it has a link and a title, even from a feed that is not well formed.
"""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import nh3

SUMMARY_TAGS = {"a", "p", "br", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote"}
MAX_TITLE = 500
MAX_SUMMARY = 20_000
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class ParsedItem:
    guid: str
    url: str
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


def sanitise_html(fragment: str, base_url: str | None = None) -> str:
    """Keep a few text tags and http(s)/mailto links; drop scripts, styles, handlers."""
    cleaned = nh3.clean(
        fragment[:MAX_SUMMARY],
        tags=SUMMARY_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style"},
    )
    if base_url:
        # Relative links would point at our own site once in an email.
        cleaned = re.sub(
            r'href="([^"]*)"',
            lambda m: f'href="{html.escape(_absolute(base_url, html.unescape(m.group(1))))}"',
            cleaned,
        )
    return cleaned.strip()


def plain_text(fragment: str, limit: int = MAX_TITLE) -> str:
    """Text with tags removed, entities decoded and whitespace collapsed."""
    text = html.unescape(
        _TAG.sub(" ", nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"}))
    )
    return " ".join(text.split())[:limit]


def _absolute(base: str, link: str) -> str:
    try:
        joined = urljoin(base, link.strip())
    except ValueError:
        return ""
    return joined if joined.lower().startswith(("http://", "https://", "mailto:")) else ""


def _http(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def _time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _image(entry: Any, base: str) -> str | None:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/"):
            url = _http(_absolute(base, str(enclosure.get("href") or enclosure.get("url") or "")))
            if url:
                return url
    for key in ("media_content", "media_thumbnail"):
        for media in entry.get(key) or []:
            kind = str(media.get("type") or media.get("medium") or "image")
            if kind.startswith("image"):
                url = _http(_absolute(base, str(media.get("url") or "")))
                if url:
                    return url
    return None


def _summary(entry: Any) -> str:
    for content in entry.get("content") or []:
        if content.get("value"):
            return str(content["value"])
    return str(entry.get("summary") or entry.get("description") or "")


def parse_item(entry: Any, feed_url: str) -> ParsedItem | None:
    """One entry as an item, or None when it has no usable link or title."""
    link = _absolute(feed_url, str(entry.get("link") or ""))
    link = _http(link) or ""
    raw_summary = _summary(entry)
    title = plain_text(str(entry.get("title") or ""))
    if not title:
        title = plain_text(raw_summary, 120)
    if not link or not title:
        return None
    guid = str(entry.get("id") or entry.get("guid") or "").strip()[:1000]
    if not guid:
        guid = link
    categories = tuple(
        dict.fromkeys(
            plain_text(str(tag.get("term") or tag.get("label") or ""), 100)
            for tag in entry.get("tags") or []
        )
    )
    author = plain_text(str(entry.get("author") or ""), 300) or None
    return ParsedItem(
        guid=guid,
        url=link[:2000],
        title=title,
        summary_html=sanitise_html(raw_summary, link),
        author=author,
        image_url=_image(entry, link),
        published_at=_time(entry),
        categories=tuple(c for c in categories if c),
    )


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a feed document; never raises."""
    try:
        parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser promises not to raise; a bug in it must not stop us
        return ParsedFeed(None, [], f"cannot parse the feed: {exc}")
    items: list[ParsedItem] = []
    for entry in parsed.entries:
        try:
            item = parse_item(entry, url)
        except (ValueError, TypeError, AttributeError) as exc:
            return ParsedFeed(None, items, f"an entry could not be read: {exc}")
        if item is not None:
            items.append(item)
    problem = None
    if parsed.get("bozo"):
        problem = f"the feed is not well formed: {parsed.get('bozo_exception')}"
    if not parsed.entries and not parsed.get("version"):
        problem = problem or "not an RSS or Atom feed"
    feed_title = plain_text(str(parsed.feed.get("title") or ""), 500) or None
    return ParsedFeed(feed_title, items, problem)
