"""The address ``digest up`` prints is the publisher's front page: their name, what
they send, their topics and the form to subscribe, which works from there."""

from __future__ import annotations

from playwright.sync_api import sync_playwright

from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console


def test_the_front_page_shows_the_topics_and_subscribes(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path
) -> None:
    world.topics("tech", "world")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width in (1440, 375):
                page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
                page.goto(f"{base}/")
                assert page.locator("h1").inner_text() == "Digest"
                assert "Topics: Tech and World." in page.inner_text("main")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                shot(page, f"front-page-{width}")
            page.get_by_label("Email address").fill("ana@example.org")
            page.get_by_label("Tech").check()
            page.get_by_role("button", name="Subscribe").click()
            page.wait_for_load_state()
            assert page.url == f"{base}/subscribe"
            assert "Check your inbox" in page.inner_text("body")
            browser.close()
    finally:
        stop(web)
    assert [r.rcpt_tos for r in smtp_server.received] == [["ana@example.org"]]
