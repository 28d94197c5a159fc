"""The articles page in headless Chromium, at 1440 and 375 px, light and dark: no
wider than the screen, no serious axe violation, at least eight articles on a
desktop screen, pin and hold looking different, and a filter chosen in the browser
narrowing the list. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import update

from digest.db.engine import unit_of_work
from digest.db.models import Article, Feed
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.e2e.test_console_layout_browser import severe, sign_in
from tests.integration.web.test_admin_access import admin

pytestmark = [pytest.mark.slow, pytest.mark.once]

NOW = datetime.now(UTC).replace(microsecond=0)
HEADLINES = [
    "Parliament agrees the rules for general-purpose AI models",
    "Chip makers warn of a long wait for new factories",
    "A quiet upgrade makes the city's trams twice as frequent",
    "Researchers find a cheaper way to recycle solar panels",
    "Why the new browser engine matters for small publishers",
    "Rail strike called off after a late-night agreement",
    "Open-source maintainers ask companies to pay for security",
    "The heat pump boom slows as subsidies end",
    "Satellite data shows the glacier retreating faster",
    "Small banks test instant payments across borders",
    "A new museum opens in the old harbour warehouses",
    "Farmers turn to drones to count their sheep",
]
VISIBLE_ROWS = """() => [...document.querySelectorAll('#articles tbody tr')].filter(r => {
  const b = r.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; }).length"""
BACKGROUND = "s => getComputedStyle(document.querySelector(s)).backgroundColor"


def seed(world, db_url: str, base: str) -> None:  # type: ignore[no-untyped-def]
    """Twelve articles: tech ones from a feed (some with an image), world ones pushed
    through the API, one pinned and one held."""
    world.topics("tech", "world")
    with unit_of_work(db_url) as s:
        wire = Feed(url="https://wire.example.org/rss.xml", title="Tech Wire")
        s.add(wire)
        s.flush()
        wire_id = wire.id
    images = [f"{base}/static/sample/eu-ai-act.png", f"{base}/static/sample/huawei-mirror.png"]
    for i, headline in enumerate(HEADLINES):
        world_news = i % 4 == 3
        article_id = world.article(
            f"a{i}",
            NOW - timedelta(hours=3 * i + 1),
            ["world"] if world_news else ["tech"],
            feed_id=None if world_news else wire_id,
            image_url=images[i % 2] if i % 3 == 0 else None,
            pinned_until=NOW + timedelta(days=1) if i == 1 else None,
            held=i == 2,
        )
        with unit_of_work(db_url) as s:
            s.execute(update(Article).where(Article.id == article_id).values(title=headline))


def test_the_articles_page_is_compact_labelled_and_fits_a_phone(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path
) -> None:
    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    seed(world, db_url, base)
    wide: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            sign_in(page, base)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                for width in (1440, 375):
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(f"{base}/admin/articles")
                    page.wait_for_load_state("networkidle")
                    key = f"{scheme} {width}"
                    if scheme == "light":
                        shot(page, f"console-articles-{width}")
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    if scroll > width:
                        wide[key] = scroll
                    found[key] = severe(page)
                    pin, hold = (
                        page.evaluate(BACKGROUND, "button.pin"),
                        page.evaluate(BACKGROUND, "button.hold"),
                    )
                    assert pin != hold, key
                    if width == 1440:
                        assert page.evaluate(VISIBLE_ROWS) >= 8, key

            # Each control names its article; a filter chosen here narrows the list.
            page.emulate_media(color_scheme="light")
            page.set_viewport_size({"width": 1440, "height": 900})
            page.goto(f"{base}/admin/articles")
            assert page.locator("#articles tbody tr").count() == len(HEADLINES)
            title = HEADLINES[4]
            assert page.get_by_role("button", name=f"Pin to top “{title}”", exact=True).count() == 1
            assert page.get_by_role("button", name=f"Hold back “{title}”", exact=True).count() == 1
            assert (
                page.get_by_role("button", name=f"Release “{HEADLINES[2]}”", exact=True).count()
                == 1
            )
            page.select_option("#f-topic", "world")
            page.get_by_role("button", name="Show", exact=True).click()
            page.wait_for_url("**topic=world**")
            titles = page.locator("#articles .article-title").all_inner_texts()
            assert sorted(titles) == sorted(h for i, h in enumerate(HEADLINES) if i % 4 == 3)
            page.get_by_role("button", name=f"Hold back “{HEADLINES[3]}”").click()
            page.wait_for_url("**topic=world**")
            row = page.locator("#articles tbody tr", has_text=HEADLINES[3])
            assert row.locator(".state-badge.held").inner_text() == "Held"
            browser.close()
    finally:
        stop(web)
    assert wide == {}, "the page is wider than the screen"
    assert found == {key: [] for key in found}
