"""Plain digest content and recipients for rendering tests (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from digest.config import Branding
from digest.domain.content import ArticleView, DigestContent, Recipient, Section
from digest.rendering import RenderedEmail, render_digest

SLOT = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)
LIST_NAME = "Example News"
BASE_URL = "https://news.example.org"


def article(i: int, **fields: object) -> ArticleView:
    values: dict[str, object] = dict(
        id=i,
        title=f"Story number {i}",
        url=f"https://news.example.org/story-{i}",
        summary_html=f"<p>Summary of story {i} &amp; more.</p>",
        published_at=datetime(2026, 3, 16, 14, 30, tzinfo=UTC),
        author="Staff reporter",
        image_url=f"https://news.example.org/img/{i}.jpg" if i % 2 else None,
        version="v1",
    )
    values.update(fields)
    return ArticleView(**values)  # type: ignore[arg-type]


def content(
    *sections: tuple[str, list[ArticleView]], zone: str = "Europe/Brussels"
) -> DigestContent:
    return DigestContent(
        tuple(Section(slug, slug.title(), tuple(items)) for slug, items in sections), SLOT, zone
    )


def recipient(i: int = 0, name: str | None = "Ana") -> Recipient:
    return Recipient(
        email=f"reader{i}@example.org",
        name=name,
        unsubscribe_url=f"https://news.example.org/unsubscribe/tok{i}?a=1&b=2",
        preferences_url=f"https://news.example.org/preferences/tok{i}",
        reason="You get this email because you follow Technology and Trade.",
        view_url=f"https://news.example.org/view/tok{i}",
    )


def render(
    c: DigestContent, r: Recipient | None = None, list_name: str = LIST_NAME, **brand: str
) -> RenderedEmail:
    """Render with the site name ``list_name`` and any other branding fields."""
    return render_digest(c, r or recipient(), brand=Branding(site_name=list_name, **brand))


Attrs = dict[str, str | None]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, Attrs]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, Attrs]]:
    """Every start tag with its (unescaped) attributes."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.tags
