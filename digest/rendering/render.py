"""Rendering a digest for one recipient, with CSS inlining paid once per block.

premailer costs milliseconds per call, so it never runs per recipient. The email is
cut into blocks, each rendered by Jinja and inlined once, then cached:

* the shell (layout, masthead, footer) per publisher branding and language, with
  placeholders where the recipient's values go;
* each topic heading per topic and language;
* a long digest's headline list per (article ids and versions), accent colour and
  language;
* each article per (article id, version) and language, with a placeholder where its
  time goes; the time in the reader's zone and language is put in afterwards (and
  that copy cached per zone), so an article is inlined once per language whatever
  the number of zones its readers live in.

Per recipient, the blocks are joined and the placeholders filled with escaped values:
string work only. The same content and recipient always give the same bytes, so a
preview is exactly what is sent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property, lru_cache

from markupsafe import Markup, escape

from digest.config import Branding
from digest.domain.content import ArticleView, DigestContent, Recipient
from digest.domain.languages import direction
from digest.rendering.cache import blocks
from digest.rendering.environment import get_environment, templates_dir
from digest.rendering.i18n import local_date, local_time, translate, translate_plural
from digest.rendering.inline import inline_css, inline_fragment
from digest.rendering.text import clean_summary, one_line, summary_text

# Placeholders survive Jinja (no special characters) and premailer (plain text).
_RECIPIENT_FIELDS = (
    "greeting",
    "reason",
    "preferences_url",
    "unsubscribe_url",
    "email",
    "view_url",
)
_FIELDS = (*_RECIPIENT_FIELDS, "preheader", "edition", "content", "sections")
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
def stylesheet(text_direction: str = "ltr") -> str:
    """The email's CSS, read once per process; for a right-to-left language its
    list indents move to the right, where the markers are."""
    css = (templates_dir() / "email" / "_base" / "style.css").read_text(encoding="utf-8")
    if text_direction == "rtl":
        css = css.replace("padding-left", "padding-start").replace("padding-right", "padding-left")
        css = css.replace("padding-start", "padding-right")
    return css


def _http_url(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _layout(brand: Branding, language: str) -> str:
    """The email's layout with every per-recipient value and the content as slots."""
    return (
        get_environment(language)
        .get_template("digest/body.html")
        .render(
            brand=brand,
            stylesheet=Markup(stylesheet(direction(language))),
            preheader_padding=Markup(PREHEADER_PADDING),
            **{f: _slot(f) for f in _FIELDS},
        )
    )


@cache
def _fragment_context(accent: str, language: str) -> tuple[str, str]:
    """The layout split where the content goes: blocks are inlined in between, so
    they get exactly the styles they get in the email. Only the accent colour and
    the writing direction can change a block's styles; the rest of the branding is
    left neutral."""
    neutral = Branding(site_name="", accent_color=accent)
    before, sep, after = _layout(neutral, language).partition(str(_slot("content")))
    if not sep:
        raise RuntimeError("digest/body.html has no place for the content")
    return before, after


def _shell(brand: Branding, language: str) -> str:
    return blocks.get(("shell", brand, language), lambda: inline_css(_layout(brand, language)))


def _inline_block(block: str, accent: str, language: str) -> str:
    return inline_fragment(block, *_fragment_context(accent, language))


def _section_html(slug: str, name: str, accent: str, language: str) -> str:
    def make() -> str:
        template = get_environment(language).get_template("digest/_section.html")
        return _inline_block(template.render(name=name), accent, language) + "\n"

    return blocks.get(("section", slug, name, accent, language), make)


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


def _article_key(
    kind: str, article: ArticleView, zone: str, language: str, accent: str = ""
) -> Hashable:
    # Without a version the whole view is the key, so a block can never be reused
    # for different content; with one, the cheaper (id, version) is enough.
    if article.version:
        return (kind, article.id, article.version, zone, language, accent)
    return (kind, article, zone, language, accent)


def _article_html(article: ArticleView, zone: str, accent: str, language: str) -> str:
    def inlined() -> str:
        block = (
            get_environment(language)
            .get_template("digest/_article.html")
            .render(
                article=_safe_view(article),
                when=Markup(_WHEN),
                summary=Markup(clean_summary(article.summary_html)),
            )
        )
        return _inline_block(block, accent, language)

    def in_zone() -> str:
        block = blocks.get(_article_key("article", article, "", language, accent), inlined)
        when = local_time(article.published_at, zone, language)
        return block.replace(_WHEN, str(escape(when))) + "\n"

    return blocks.get(_article_key("article-in-zone", article, zone, language, accent), in_zone)


def _article_text(article: ArticleView, zone: str, language: str) -> str:
    def make() -> str:
        return (
            get_environment(language)
            .get_template("digest/_article.txt")
            .render(
                article=_safe_view(article),
                when=local_time(article.published_at, zone, language),
                summary=summary_text(article.summary_html),
            )
            .strip()
        )

    return blocks.get(_article_key("article-text", article, zone, language), make)


def greeting(name: str | None, language: str) -> str:
    """``Hello Ann,`` in the reader's language; ``Hello,`` without a name."""
    name = one_line(name or "")
    return (
        translate(language, "Hello %(name)s,", name=name) if name else translate(language, "Hello,")
    )


def preheader_of(content: DigestContent) -> str:
    """The inbox preview line: the first few titles."""
    titles = [one_line(a.title) for s in content.sections for a in s.articles]
    return " · ".join(titles[:3])[:140]


def subject_of(content: DigestContent, site_name: str) -> str:
    """One line, whatever the titles and the site name hold."""
    count = content.article_count
    first = next((a.title for s in content.sections for a in s.articles), None)
    return _subject(site_name, content.language, first, count - 1 if count else 0)


@lru_cache(maxsize=4096)
def _subject(site_name: str, language: str, first_title: str | None, more: int) -> str:
    # The same for every reader of the same articles: made once.
    first = one_line(first_title) if first_title else translate(language, "nothing new")
    if len(first) > 90:
        first = first[:89].rstrip() + "…"
    text = (
        get_environment(language)
        .get_template("digest/subject.txt")
        .render(site_name=site_name, first_title=first, more=more)
    )
    return one_line(text)


def _html_parts(
    content: DigestContent, recipient: Recipient, preheader: str, brand: Branding
) -> tuple[str, ...]:
    zone, accent, language = content.timezone, brand.accent_color, content.language
    rows: list[str] = []
    if content.article_count >= CONTENTS_FROM:
        rows.append(_contents_html(content, accent))
    for section in content.sections:
        rows.append(_section_html(section.topic_slug, section.topic_name, accent, language))
        rows.extend(_article_html(a, zone, accent, language) for a in section.articles)
    values = {
        "greeting": str(escape(greeting(recipient.name, language))),
        "reason": str(escape(recipient.reason)),
        "preferences_url": str(escape(recipient.preferences_url)),
        "unsubscribe_url": str(escape(recipient.unsubscribe_url)),
        "email": str(escape(recipient.email)),
        "view_url": str(escape(recipient.view_url)),
        "preheader": str(escape(preheader)),
        "edition": str(escape(edition_line(content))),
    }
    before, _, after = _shell(brand, language).partition(str(_slot("content")))
    # One pass each: text inside the substituted values is never substituted again.
    head, tail = (_SLOT_RE.sub(lambda m: values[m.group(1)], half) for half in (before, after))
    return (head, *rows, tail)


def edition_line(content: DigestContent) -> str:
    """The digest's day in the reader's zone and how many articles it holds."""
    return _edition(content.slot_at, content.timezone, content.language, content.article_count)


@lru_cache(maxsize=4096)
def _edition(slot_at: datetime, zone: str, language: str, count: int) -> str:
    day = local_date(slot_at, zone, language)
    articles = translate_plural(language, "%(num)s new article", "%(num)s new articles", count)
    return f"{day} · {articles}"


def _contents_html(content: DigestContent, accent: str) -> str:
    """The headlines of a long digest, each a link to its article (a cached block,
    keyed by the articles and their versions)."""
    articles = [a for s in content.sections for a in s.articles]

    def make() -> str:
        items = [(one_line(a.title), _http_url(a.url) or "#") for a in articles]
        template = get_environment(content.language).get_template("digest/_contents.html")
        return _inline_block(template.render(items=items), accent, content.language) + "\n"

    # An article without a version is keyed by all it shows, as article blocks are.
    shown = tuple((a.id, a.version) if a.version else a for a in articles)
    key = ("contents", shown, accent, content.language)
    return blocks.get(key, make)


def _text_shell(brand: Branding, language: str, weekly: bool, daily: bool, count: int) -> str:
    """The text part with every per-reader value and the articles as slots (a cached
    block: the article count picks the plural form, so it is part of the key)."""

    def make() -> str:
        template = get_environment(language).get_template("digest/body.txt")
        slots = {f: _slot(f) for f in (*_RECIPIENT_FIELDS, "edition", "sections")}
        text = template.render(
            weekly=weekly, daily=daily, article_count=count, brand=brand, **slots
        )
        return text.strip() + "\n"

    return blocks.get(("text-shell", brand, language, weekly, daily, count), make)


def _text(content: DigestContent, recipient: Recipient, brand: Branding) -> str:
    zone, language = content.timezone, content.language
    sections = "\n\n".join(
        f"== {one_line(s.topic_name)} =="
        + "".join("\n\n" + _article_text(a, zone, language) for a in s.articles)
        for s in content.sections
    )
    values = {
        "greeting": greeting(recipient.name, language),
        "edition": local_date(content.slot_at, zone, language),
        "sections": sections,
        "reason": recipient.reason,
        "preferences_url": recipient.preferences_url,
        "unsubscribe_url": recipient.unsubscribe_url,
        "email": recipient.email,
        "view_url": recipient.view_url,
    }
    shell = _text_shell(brand, language, content.weekly, content.daily, content.article_count)
    # One pass: text inside the values is never substituted again.
    return _SLOT_RE.sub(lambda m: values[m.group(1)], shell)


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
