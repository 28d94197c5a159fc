"""The confirmation email and the digest as a phone shows them (headless Chromium at
375 px, light and dark): nothing wider than the screen, no blank gaps, summaries made
of paragraphs spaced like the others, a missing image's alt text readable."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from playwright.sync_api import Page, sync_playwright

from digest.config import Branding
from digest.rendering.confirm import TopicChoice, render_confirmation
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot
from tests.unit.rendering.factories import article, content, render

BRAND = Branding(site_name="Example News", postal_address="1 Example Street, Brussels")
LONG_LINK = "https://news.example.org/confirm/" + "Ab9-" * 40


def confirmation_html() -> str:
    return render_confirmation(
        BRAND,
        email="ana@example.org",
        name="Ana",
        confirm_url=LONG_LINK,
        topics=[TopicChoice("Technology", "daily"), TopicChoice("World", "weekly")],
        hour=8,
        timezone="Europe/Brussels",
        weekday=0,
        expires_in=timedelta(days=2),
    ).html


def digest_html() -> str:
    summary = "<p>First paragraph of the summary.</p><p>Second paragraph of it.</p>"
    missing = "https://127.0.0.1:9/missing.jpg"  # never loads: the alt text shows
    return render(
        content(
            (
                "technology",
                [
                    # Versions of their own: the block cache keys articles by id and version.
                    article(1, summary_html=summary, image_url=missing, version="paragraphs"),
                    article(2, version="paragraphs"),
                ],
            )
        )
    ).html


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


@pytest.fixture(scope="module")
def pages():  # type: ignore[no-untyped-def]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def open_page(html: str, scheme: str, width: int = 375) -> Page:
            context = browser.new_context(
                viewport={"width": width, "height": 800}, color_scheme=scheme
            )
            page = context.new_page()
            page.set_content(html)
            return page

        yield open_page
        browser.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_confirmation_email_fits_a_phone_without_gaps(pages, scheme: str) -> None:  # type: ignore[no-untyped-def]
    page = pages(confirmation_html(), scheme)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    intro, asked = box(page, "td.intro"), box(page, "text=You asked for:")
    assert asked["y"] - (intro["y"] + intro["height"]) < 24  # no blank gap before the list
    link = box(page, "a.fallback-url")
    assert link["x"] + link["width"] <= 375
    text = page.inner_text("body")
    assert "Delivered at 08:00 (Europe/Brussels), weekly topics on Monday." in text
    assert "you want to receive Example News at this address" in text
    shot(page, f"email-confirm-375-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_summary_of_paragraphs_is_spaced_like_text_and_alt_text_is_readable(  # type: ignore[no-untyped-def]
    pages, scheme: str
) -> None:
    page = pages(digest_html(), scheme)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    first = box(page, "text=First paragraph of the summary.")
    second = box(page, "text=Second paragraph of it.")
    assert second["y"] - (first["y"] + first["height"]) <= 10
    style = page.evaluate(
        """() => { const img = document.querySelector('img.article-image');
        const s = getComputedStyle(img);
        const bg = getComputedStyle(document.querySelector('.container')).backgroundColor;
        return [s.color, s.fontFamily, bg]; }"""
    )
    color, family, background = style
    assert "sans-serif" in family
    assert contrast(color, background) >= 4.5, (color, background)
    shot(page, f"email-digest-375-{scheme}")


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(css: str) -> float:
        channels = [int(x) / 255 for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def long_digest_html(language: str = "en") -> str:
    twelve = [
        article(i, summary_html=f"<p>{'A sentence of the summary. ' * 6}</p>", version="long")
        for i in range(12)
    ]
    long = content(("technology", twelve[:7]), ("trade", twelve[7:]))
    return render(dataclasses.replace(long, language=language)).html


def test_a_long_digest_opens_with_its_day_count_and_headlines(pages) -> None:  # type: ignore[no-untyped-def]
    html = long_digest_html()
    assert len(html.encode()) < 40_000  # 12 articles
    page = pages(html, "light")
    intro = page.inner_text("td.intro")
    assert "Tue 17 Mar · 12 new articles" in intro
    headlines = page.locator("ol.contents-list a")
    assert headlines.count() == 12
    assert headlines.first.get_attribute("href") == "https://news.example.org/story-0"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "email-digest-long-375-light")
    short = pages(digest_html(), "light")
    assert short.locator("ol.contents-list").count() == 0  # two articles: no list
    assert "2 new articles" in short.inner_text("td.intro")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_footer_links_are_big_enough_to_tap(pages, scheme: str) -> None:  # type: ignore[no-untyped-def]
    page = pages(digest_html(), scheme)
    links = page.locator("a.footer-link, a.view-link")
    assert links.count() == 3  # preferences, unsubscribe and the web view at the top
    for i in range(3):
        found = links.nth(i).bounding_box()
        assert found is not None and found["height"] >= 44, found
        size = links.nth(i).evaluate("a => parseFloat(getComputedStyle(a).fontSize)")
        assert size >= 14


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [640, 375])
def test_the_digest_fits_desktop_and_phone_widths(  # type: ignore[no-untyped-def]
    pages, scheme: str, width: int, language: str
) -> None:
    page = pages(long_digest_html(language), scheme, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    container = box(page, "table.container")
    assert container["width"] <= min(width, 600)
    shot(page, f"email-digest-{language}-{width}-{scheme}")


@pytest.mark.parametrize("width", [640, 375])
def test_arabic_reads_right_to_left_with_mirrored_alignment(pages, width: int) -> None:  # type: ignore[no-untyped-def]
    assert len(long_digest_html("ar").encode()) < 40_000  # 12 articles, in Arabic too
    page = pages(long_digest_html("ar"), "light", width)
    english = pages(long_digest_html("en"), "light", width)
    for shown, side in ((page, "right"), (english, "left")):
        container = box(shown, "table.container")
        # The first line of the intro, all its runs (a bidirectional line has several).
        intro = shown.locator("td.intro").evaluate(
            "td => { const r = document.createRange(); r.selectNodeContents(td);"
            " const rects = [...r.getClientRects()]; const top = rects[0].top;"
            " const line = rects.filter(b => Math.abs(b.top - top) < 4);"
            " return {left: Math.min(...line.map(b => b.left)),"
            "         right: Math.max(...line.map(b => b.right))}; }"
        )
        # The intro's first line starts at the container's start edge (plus padding).
        if side == "right":
            assert container["x"] + container["width"] - intro["right"] <= 25, intro
        else:
            assert intro["left"] - container["x"] <= 25, intro
        direction = shown.locator("td.article").first.evaluate(
            "td => getComputedStyle(td).direction"
        )
        assert direction == ("rtl" if side == "right" else "ltr")
    # The numbers of the headline list sit on the right, inside the container.
    marker_side = page.locator("ol.contents-list").evaluate(
        "ol => { const li = ol.querySelector('li').getBoundingClientRect();"
        " const box = ol.getBoundingClientRect(); return box.right - li.right; }"
    )
    assert marker_side >= 15  # the list's indent (for its numbers) is on the right
    assert "مقالة" in page.inner_text("td.intro")
