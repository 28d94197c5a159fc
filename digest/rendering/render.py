"""Rendering a digest for one recipient, with CSS inlining paid once per block.

premailer costs milliseconds per call, so it never runs per recipient. The email is
cut into blocks, each rendered by Jinja and inlined once, then cached:

* the shell (layout, masthead, footer) per list name, with placeholders where the
  recipient's values go;
* each topic heading per topic;
* each article per (article, version, time zone), since its time is shown in the
  reader's zone.

Per recipient, the blocks are joined and the placeholders filled with escaped values:
string work only. The same content and recipient always give the same bytes, so a
preview is exactly what is sent.
"""

from __future__ import annotations

import html as htmllib
import re
import textwrap
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cache
from threading import Lock

import nh3
from markupsafe import Markup, escape

from digest.domain.content import ArticleView, DigestContent, Recipient
from digest.rendering.environment import get_environment, local_time, templates_dir
from digest.rendering.inline import inline_email, inline_fragment

# Placeholders survive Jinja (no special characters) and premailer (plain text).
_SLOT = "DIGESTSLOT{}X"
_SLOT_RE = re.compile(r"DIGESTSLOT([a-z_]+)X")
_RECIPIENT_FIELDS = ("greeting", "reason", "preferences_url", "unsubscribe_url", "preheader")

SUMMARY_TAGS = {"a", "p", "br", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote"}
PREHEADER_PADDING = "&zwnj;&nbsp;" * 60


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    preheader: str


class BlockCache:
    """A bounded least-recently-used cache of rendered blocks, with hit counts."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, str] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._lock = Lock()

    def get(self, key: Hashable, make: Callable[[], str]) -> str:
        with self._lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
                self.hits += 1
                return value
            self.misses += 1
        value = make()
        with self._lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self.items.clear()
            self.hits = self.misses = 0


blocks = BlockCache()


@cache
def stylesheet() -> str:
    return (templates_dir() / "email" / "_base" / "style.css").read_text(encoding="utf-8")


def clean_summary(summary_html: str) -> str:
    """The summary as safe HTML: a small set of tags, http(s)/mailto links only."""
    return nh3.clean(
        summary_html,
        tags=SUMMARY_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style"},
    )


_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<\s*(br|/p|/li|/blockquote)\b[^>]*>", re.IGNORECASE)


def summary_text(summary_html: str, width: int = 72) -> str:
    """The summary as plain text, wrapped."""
    spaced = _BREAK.sub("\n", clean_summary(summary_html))
    paragraphs = [" ".join(htmllib.unescape(_TAG.sub(" ", p)).split()) for p in spaced.split("\n")]
    return "\n\n".join(textwrap.fill(p, width) for p in paragraphs if p)


def _http_url(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _shell(list_name: str) -> str:
    def make() -> str:
        template = get_environment().get_template("digest/body.html")
        html = template.render(
            list_name=list_name,
            stylesheet=Markup(stylesheet()),
            content=Markup(_SLOT.format("content")),
            preheader_padding=Markup(PREHEADER_PADDING),
            **{f: Markup(_SLOT.format(f)) for f in _RECIPIENT_FIELDS},
        )
        return inline_email(html)

    return blocks.get(("shell", list_name), make)


def _section_html(slug: str, name: str) -> str:
    def make() -> str:
        block = get_environment().get_template("digest/_section.html").render(name=name)
        return inline_fragment(block, stylesheet())

    return blocks.get(("section", slug, name), make)


def _article_html(article: ArticleView, zone: str) -> str:
    def make() -> str:
        view = _safe_view(article)
        block = (
            get_environment()
            .get_template("digest/_article.html")
            .render(
                article=view,
                when=local_time(article.published_at, zone),
                summary=Markup(clean_summary(article.summary_html)),
            )
        )
        return inline_fragment(block, stylesheet())

    return blocks.get(("article", article.id, article.version, zone), make)


def _article_text(article: ArticleView, zone: str) -> str:
    def make() -> str:
        return (
            get_environment()
            .get_template("digest/_article.txt")
            .render(
                article=_safe_view(article),
                when=local_time(article.published_at, zone),
                summary=summary_text(article.summary_html),
            )
            .strip()
        )

    return blocks.get(("article-text", article.id, article.version, zone), make)


@dataclass(frozen=True)
class _View:
    title: str
    url: str
    author: str | None
    image_url: str | None


def _safe_view(article: ArticleView) -> _View:
    # Titles are plain text; collapse whitespace so no layout or header breaks.
    return _View(
        title=" ".join(article.title.split()),
        url=_http_url(article.url) or "#",
        author=" ".join(article.author.split()) if article.author else None,
        image_url=_http_url(article.image_url),
    )


def _greeting(recipient: Recipient) -> str:
    name = " ".join((recipient.name or "").split())
    return f"Hello {name}," if name else "Hello,"


def preheader_of(content: DigestContent) -> str:
    titles = [" ".join(a.title.split()) for s in content.sections for a in s.articles]
    return " · ".join(titles[:3])[:140]


def subject_of(content: DigestContent, list_name: str) -> str:
    titles = [a.title for s in content.sections for a in s.articles]
    first = " ".join(titles[0].split()) if titles else "nothing new"
    if len(first) > 90:
        first = first[:89].rstrip() + "…"
    text = (
        get_environment()
        .get_template("digest/subject.txt")
        .render(list_name=list_name, first_title=first, more=len(titles) - 1)
    )
    return " ".join(text.split())


def render_digest(
    content: DigestContent, recipient: Recipient, *, list_name: str, base_url: str
) -> RenderedEmail:
    """The subject, text part and HTML part of one digest for one recipient."""
    zone = content.timezone
    rows: list[str] = []
    for section in content.sections:
        rows.append(_section_html(section.topic_slug, section.topic_name))
        rows.extend(_article_html(a, zone) for a in section.articles)
    preheader = preheader_of(content)
    greeting = _greeting(recipient)
    values = {
        "content": "".join(rows),
        "greeting": str(escape(greeting)),
        "reason": str(escape(recipient.reason)),
        "preferences_url": str(escape(recipient.preferences_url)),
        "unsubscribe_url": str(escape(recipient.unsubscribe_url)),
        "preheader": str(escape(preheader)),
    }
    html = _SLOT_RE.sub(lambda m: values[m.group(1)], _shell(list_name))
    text = (
        get_environment()
        .get_template("digest/body.txt")
        .render(
            greeting=greeting,
            weekly=content.weekly,
            edition=local_time(content.slot_at, zone).split(",")[0],
            article_count=content.article_count,
            sections=[
                {"name": s.topic_name, "articles": [_article_text(a, zone) for a in s.articles]}
                for s in content.sections
            ],
            reason=recipient.reason,
            preferences_url=recipient.preferences_url,
            unsubscribe_url=recipient.unsubscribe_url,
        )
    )
    return RenderedEmail(
        subject=subject_of(content, list_name),
        text=text.strip() + "\n",
        html=html,
        preheader=preheader,
    )
