"""Rendering a digest for one recipient, with CSS inlining paid once per block.

premailer costs milliseconds per call, so it never runs per recipient. The email is
cut into blocks, each rendered by Jinja and inlined once, then cached:

* the shell (layout, masthead, footer) per publisher branding, with placeholders
  where the recipient's values go;
* each topic heading per topic;
* a long digest's headline list per (article ids and versions) and accent colour;
* each article per (article id, version), with a placeholder where its time goes;
  the time in the reader's zone is put in afterwards (and that copy cached per zone),
  so an article is inlined once whatever the number of zones its readers live in.

Per recipient, the blocks are joined and the placeholders filled with escaped values:
string work only. The same content and recipient always give the same bytes, so a
preview is exactly what is sent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache, cached_property

from markupsafe import Markup, escape

from digest.config import Branding
from digest.domain.content import ArticleView, DigestContent, Recipient
from digest.domain.text import counted
from digest.rendering.cache import blocks
from digest.rendering.environment import get_environment, local_time, templates_dir
from digest.rendering.inline import inline_css, inline_fragment
from digest.rendering.text import clean_summary, one_line, summary_text

# Placeholders survive Jinja (no special characters) and premailer (plain text).
_RECIPIENT_FIELDS = ("greeting", "reason", "preferences_url", "unsubscribe_url", "email")
_FIELDS = (*_RECIPIENT_FIELDS, "preheader", "edition", "content")
# From this many articles on, a digest opens with the list of its headlines.
CONTENTS_FROM = 6
_SLOT_RE = re.compile(r"DIGESTSLOT(" + "|".join(_FIELDS) + ")X")
PREHEADER_PADDING = "&zwnj;&nbsp;" * 60
# Where an article's local time goes. Unguessable, so no feed text can contain it; it
# only ever lives in this process's cache.
_WHEN = f"DIGESTWHEN{secrets.token_hex(8)}X"


def _slot(field: str) -> Markup:
    return Markup(f"DIGESTSLOT{field}X")


@dataclass(frozen=True)
class RenderedEmail:
    """One digest for one recipient, ready for MIME."""

    subject: str
    text: str
    preheader: str
    # The HTML part cut at line ends: the recipient's head, the shared blocks (the
    # same string objects for every reader of a block), the recipient's tail.
    html_parts: tuple[str, ...]

    @cached_property
    def html(self) -> str:
        return "".join(self.html_parts)


@cache
def stylesheet() -> str:
    """The email's CSS, read once per process."""
    return (templates_dir() / "email" / "_base" / "style.css").read_text(encoding="utf-8")


def _http_url(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _layout(brand: Branding) -> str:
    """The email's layout with every per-recipient value and the content as slots."""
    return (
        get_environment()
        .get_template("digest/body.html")
        .render(
            brand=brand,
            stylesheet=Markup(stylesheet()),
            preheader_padding=Markup(PREHEADER_PADDING),
            **{f: _slot(f) for f in _FIELDS},
        )
    )


@cache
def _fragment_context(accent: str) -> tuple[str, str]:
    """The layout split where the content goes: blocks are inlined in between, so
    they get exactly the styles they get in the email. Only the accent colour can
    change a block's styles; the rest of the branding is left neutral."""
    neutral = Branding(site_name="", accent_color=accent)
    before, sep, after = _layout(neutral).partition(str(_slot("content")))
    if not sep:
        raise RuntimeError("digest/body.html has no place for the content")
    return before, after


def _shell(brand: Branding) -> str:
    return blocks.get(("shell", brand), lambda: inline_css(_layout(brand)))


def _inline_block(block: str, accent: str) -> str:
    return inline_fragment(block, *_fragment_context(accent))


def _section_html(slug: str, name: str, accent: str) -> str:
    def make() -> str:
        block = get_environment().get_template("digest/_section.html").render(name=name)
        return _inline_block(block, accent) + "\n"

    return blocks.get(("section", slug, name, accent), make)


@dataclass(frozen=True)
class _View:
    title: str
    url: str
    author: str | None
    image_url: str | None


def _safe_view(article: ArticleView) -> _View:
    # Titles are plain text; collapse whitespace so no layout or header breaks.
    return _View(
        title=one_line(article.title),
        url=_http_url(article.url) or "#",
        author=one_line(article.author) if article.author else None,
        image_url=_http_url(article.image_url),
    )


def _article_key(kind: str, article: ArticleView, zone: str, accent: str = "") -> Hashable:
    # Without a version the whole view is the key, so a block can never be reused
    # for different content; with one, the cheaper (id, version) is enough.
    if article.version:
        return (kind, article.id, article.version, zone, accent)
    return (kind, article, zone, accent)


def _article_html(article: ArticleView, zone: str, accent: str) -> str:
    def inlined() -> str:
        block = (
            get_environment()
            .get_template("digest/_article.html")
            .render(
                article=_safe_view(article),
                when=Markup(_WHEN),
                summary=Markup(clean_summary(article.summary_html)),
            )
        )
        return _inline_block(block, accent)

    def in_zone() -> str:
        block = blocks.get(_article_key("article", article, "", accent), inlined)
        return block.replace(_WHEN, str(escape(local_time(article.published_at, zone)))) + "\n"

    return blocks.get(_article_key("article-in-zone", article, zone, accent), in_zone)


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

    return blocks.get(_article_key("article-text", article, zone), make)


def _greeting(recipient: Recipient) -> str:
    name = one_line(recipient.name or "")
    return f"Hello {name}," if name else "Hello,"


def preheader_of(content: DigestContent) -> str:
    """The inbox preview line: the first few titles."""
    titles = [one_line(a.title) for s in content.sections for a in s.articles]
    return " · ".join(titles[:3])[:140]


def subject_of(content: DigestContent, site_name: str) -> str:
    """One line, whatever the titles and the site name hold."""
    titles = [a.title for s in content.sections for a in s.articles]
    first = one_line(titles[0]) if titles else "nothing new"
    if len(first) > 90:
        first = first[:89].rstrip() + "…"
    text = (
        get_environment()
        .get_template("digest/subject.txt")
        .render(site_name=site_name, first_title=first, more=len(titles) - 1)
    )
    return one_line(text)


def _html_parts(
    content: DigestContent, recipient: Recipient, preheader: str, brand: Branding
) -> tuple[str, ...]:
    zone, accent = content.timezone, brand.accent_color
    rows: list[str] = []
    if content.article_count >= CONTENTS_FROM:
        rows.append(_contents_html(content, accent))
    for section in content.sections:
        rows.append(_section_html(section.topic_slug, section.topic_name, accent))
        rows.extend(_article_html(a, zone, accent) for a in section.articles)
    values = {
        "greeting": str(escape(_greeting(recipient))),
        "reason": str(escape(recipient.reason)),
        "preferences_url": str(escape(recipient.preferences_url)),
        "unsubscribe_url": str(escape(recipient.unsubscribe_url)),
        "email": str(escape(recipient.email)),
        "preheader": str(escape(preheader)),
        "edition": str(escape(edition_line(content))),
    }
    before, _, after = _shell(brand).partition(str(_slot("content")))
    # One pass each: text inside the substituted values is never substituted again.
    head, tail = (_SLOT_RE.sub(lambda m: values[m.group(1)], half) for half in (before, after))
    return (head, *rows, tail)


def edition_line(content: DigestContent) -> str:
    """The digest's day in the reader's zone and how many articles it holds."""
    day = local_time(content.slot_at, content.timezone).split(",")[0]
    return f"{day} · {counted(content.article_count, 'new article')}"


def _contents_html(content: DigestContent, accent: str) -> str:
    """The headlines of a long digest, each a link to its article (a cached block,
    keyed by the articles and their versions)."""
    articles = [a for s in content.sections for a in s.articles]

    def make() -> str:
        items = [(one_line(a.title), _http_url(a.url) or "#") for a in articles]
        block = get_environment().get_template("digest/_contents.html").render(items=items)
        return _inline_block(block, accent) + "\n"

    # An article without a version is keyed by all it shows, as article blocks are.
    key = ("contents", tuple((a.id, a.version) if a.version else a for a in articles), accent)
    return blocks.get(key, make)


def _text(content: DigestContent, recipient: Recipient, brand: Branding) -> str:
    zone = content.timezone
    text = (
        get_environment()
        .get_template("digest/body.txt")
        .render(
            greeting=_greeting(recipient),
            weekly=content.weekly,
            daily=content.daily,
            edition=local_time(content.slot_at, zone).split(",")[0],
            article_count=content.article_count,
            sections=[
                {
                    "name": one_line(s.topic_name),
                    "articles": [_article_text(a, zone) for a in s.articles],
                }
                for s in content.sections
            ],
            reason=recipient.reason,
            preferences_url=recipient.preferences_url,
            unsubscribe_url=recipient.unsubscribe_url,
            email=recipient.email,
            brand=brand,
        )
    )
    return text.strip() + "\n"


def render_digest(
    content: DigestContent, recipient: Recipient, *, brand: Branding
) -> RenderedEmail:
    """The subject, text part and HTML part of one digest for one recipient, in the
    publisher's ``brand``. Every link in it is absolute already (articles, the
    recipient's signed links)."""
    preheader = preheader_of(content)
    return RenderedEmail(
        subject=subject_of(content, brand.site_name),
        text=_text(content, recipient, brand),
        preheader=preheader,
        html_parts=_html_parts(content, recipient, preheader, brand),
    )
