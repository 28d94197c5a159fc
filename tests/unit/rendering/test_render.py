"""Rendering: inlined CSS, the layout's promises, escaping, and inlining paid once
per block rather than once per recipient."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from digest.domain.content import ArticleView, DigestContent, Recipient, Section
from digest.rendering import blocks, inline_calls, render_digest

SLOT = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)


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
    )


def render(c: DigestContent, r: Recipient | None = None):  # type: ignore[no-untyped-def]
    return render_digest(c, r or recipient(), list_name="Example News", base_url="https://x")


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


@pytest.fixture(autouse=True)
def cold_cache() -> None:
    blocks.clear()


def test_css_is_inlined_and_media_queries_stay_in_a_style_block() -> None:
    email = render(content(("technology", [article(1), article(2)])))
    tags = elements(email.html)
    styled = {tag for tag, attrs in tags if attrs.get("style")}
    assert {"table", "td", "a"} <= styled
    style_block = email.html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "@media only screen and (max-width: 620px)" in style_block
    assert "prefers-color-scheme: dark" in style_block
    assert ".masthead {" not in style_block, "plain rules are inlined, not kept"
    assert email.html.lower().startswith("<!doctype html>")


def test_layout_600px_preheader_images_and_footer() -> None:
    email = render(content(("technology", [article(1), article(2)]), ("trade", [article(3)])))
    tags = elements(email.html)
    assert any(t == "table" and a.get("width") == "600" for t, a in tags)
    images = [a for t, a in tags if t == "img"]
    assert len(images) == 2
    assert all(a.get("alt") for a in images)
    assert all(a.get("width") == "552" for a in images)
    assert email.preheader.startswith("Story number 1 · Story number 2")
    assert email.preheader in email.html
    assert 'href="https://news.example.org/unsubscribe/tok0?a=1&amp;b=2"' in email.html
    assert 'href="https://news.example.org/preferences/tok0"' in email.html
    assert "because you follow Technology and Trade" in email.html
    assert "Hello Ana," in email.html
    # Sections in order, each article once as a title link.
    assert email.html.index(">Technology<") < email.html.index(">Trade<")
    for i in (1, 2, 3):
        assert (
            email.html.count(f'class="article-title" href="https://news.example.org/story-{i}"')
            == 1
        )


def test_times_are_shown_in_the_readers_zone() -> None:
    brussels = render(content(("technology", [article(1)]), zone="Europe/Brussels"))
    shanghai = render(content(("technology", [article(1)]), zone="Asia/Shanghai"))
    assert "Mon 16 Mar, 15:30" in brussels.html and "Mon 16 Mar, 15:30" in brussels.text
    assert "Mon 16 Mar, 22:30" in shanghai.html


def test_text_part_and_subject() -> None:
    email = render(content(("technology", [article(1), article(2)])))
    assert "<p>" not in email.text and "&amp;" not in email.text
    assert "Summary of story 1 & more." in email.text
    assert "https://news.example.org/story-2" in email.text
    assert "Unsubscribe: https://news.example.org/unsubscribe/tok0?a=1&b=2" in email.text
    assert email.subject == "Example News: Story number 1 and 1 more"


HOSTILE = [
    article(
        66,
        title='<script>alert("t")</script><img src=x onerror=alert(1)>Hostile',
        summary_html=(
            '<p onclick="alert(2)">Hi <script>alert(3)</script>'
            '<img src="x" onerror="alert(4)"><a href="javascript:alert(5)">link</a>'
            '<iframe src="https://evil.example"></iframe><style>body{}</style></p>'
        ),
        author="<b onmouseover=alert(6)>Mallory</b>",
        url="javascript:alert(7)",
    )
]


def test_hostile_markup_never_reaches_the_html_unescaped() -> None:
    email = render(content(("technology", HOSTILE)), recipient(name='<script>x</script>"'))
    tags = elements(email.html)
    assert not any(t in ("script", "iframe") for t, _ in tags)
    for _, attrs in tags:
        assert not any(k.startswith("on") for k in attrs), attrs
        assert not any((v or "").lower().startswith("javascript:") for v in attrs.values())
    assert "&lt;script&gt;" in email.html  # the title is shown as text
    assert "\n" not in email.subject and "\r" not in email.subject


def test_same_input_gives_the_same_bytes() -> None:
    c = content(("technology", [article(1), article(2)]))
    first = render(c)
    blocks.clear()
    assert render(c) == first == render(c)


def test_inlining_runs_per_block_not_per_recipient() -> None:
    c = content(("technology", [article(i) for i in range(1, 9)]), ("trade", [article(9)]))
    before = inline_calls.calls
    render(c)
    per_digest = inline_calls.calls - before
    assert per_digest == 1 + 2 + 9  # the layout, two headings, nine articles
    for i in range(1000):
        email = render(c, recipient(i, name=f"Reader {i}"))
        assert f"tok{i}?" in email.html
    assert inline_calls.calls - before == per_digest


def test_shared_articles_are_inlined_once_across_different_digests() -> None:
    pool = [article(i) for i in range(1, 21)]
    before = inline_calls.calls
    for n in range(50):
        chosen = [pool[(n + k) % 20] for k in range(5)]
        render(content(("technology", chosen)), recipient(n))
    # 20 distinct articles, one heading, one layout, whatever the number of digests.
    assert inline_calls.calls - before == 20 + 1 + 1
