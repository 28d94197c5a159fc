"""The feeds page in headless Chromium, at 1440 and 375 px, light and dark: each
feed's health with its state as a worded badge, nothing wider than the screen, no
serious axe violation; pausing a feed with a click turns its badge to *paused*; with
no feed at all the page says so and shows the form to add one. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import World, stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.e2e.test_console_layout_browser import VIEWS, severe, sign_in
from tests.integration.web.test_admin_access import admin
from tests.integration.web.test_feed_health import every, feed, items

pytestmark = [pytest.mark.slow, pytest.mark.once]

HOUR = timedelta(hours=1)


def seed(world: World, db_url: str) -> dict[str, int]:
    """A feed in each state, with a long address and a long error to wrap."""
    now = datetime.now(UTC)
    ok = feed(
        db_url,
        "technology/with-a-rather-long-path/rss-2.0/all-the-stories",
        title="Technology",
        last_fetched_at=now - timedelta(minutes=2),
        last_status=200,
    )
    items(world, ok, *every(8 * HOUR, now - HOUR, now - timedelta(days=12)))
    failing = feed(
        db_url,
        "world",
        title="World",
        error_count=4,
        last_status=500,
        last_fetched_at=now - timedelta(minutes=3),
        last_error="https://feeds.example.org/world.xml answered HTTP 500 Internal Server "
        "Error; the next poll tries again",
    )
    silent = feed(
        db_url,
        "science",
        title="Science",
        last_fetched_at=now - timedelta(minutes=6),
        last_status=304,
    )
    items(world, silent, *every(6 * HOUR, now - timedelta(days=4), now - timedelta(days=20)))
    paused = feed(db_url, "sport", paused=True)
    return {"ok": ok, "failing": failing, "silent": silent, "paused": paused}


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_the_feeds_page_fits_a_phone_passes_axe_and_pauses_with_a_click(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path
) -> None:
    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    found: dict[str, list[str]] = {}
    wide: dict[str, int] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            phone = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            sign_in(phone, base)
            phone.goto(f"{base}/admin/feeds")
            expect(phone.locator("#feeds-empty")).to_contain_text("No feeds yet — add one below")
            expect(phone.locator("#add-feed")).to_be_visible()
            assert phone.locator("table#feeds").count() == 0
            found["empty 375"] = severe(phone)
            if page_width(phone) > 375:
                wide["empty 375"] = page_width(phone)
            shot(phone, "console-feeds-empty-375")

            ids = seed(world, db_url)
            for scheme, width in VIEWS:
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, color_scheme=scheme
                )
                page = context.new_page()
                sign_in(page, base)
                page.goto(f"{base}/admin/feeds")
                key = f"{scheme} {width}"
                for state, feed_id in ids.items():
                    expect(page.locator(f"#state-{feed_id}")).to_have_text(state)
                if page_width(page) > width:
                    wide[key] = page_width(page)
                found[key] = severe(page)
                shot(page, f"console-feeds-{width}" + ("-dark" if scheme == "dark" else ""))
                context.close()

            page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            sign_in(page, base)
            page.goto(f"{base}/admin/feeds")
            page.locator(f"#pause-{ids['ok']}").click()
            page.wait_for_url(f"**/admin/feeds#feed-{ids['ok']}")
            expect(page.locator(f"#state-{ids['ok']}")).to_have_text("paused")
            expect(page.locator(f"#resume-{ids['ok']}")).to_be_visible()
            page.locator(f"#resume-{ids['paused']}").click()
            page.wait_for_url(f"**/admin/feeds#feed-{ids['paused']}")
            expect(page.locator(f"#state-{ids['paused']}")).to_have_text("ok")
            browser.close()
    finally:
        stop(web)
    assert wide == {}, "pages wider than the screen"
    assert found == {key: [] for key in found}
