"""In headless Chromium: the console shows times in the zone the browser reports, and
in the zone the admin then picks on their settings page; the page passes axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.web.test_admin_access import PASSWORD, admin, api_key

pytestmark = pytest.mark.slow


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/admin/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#sending-state")


def key_time(page: Page) -> tuple[str, str]:
    """The API key's creation time as shown, and its exact time."""
    cell = page.locator("time").first
    return cell.inner_text(), str(cell.get_attribute("datetime"))


def test_times_follow_the_browser_zone_then_the_chosen_one(db_url, smtp_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    api_key(db_url, "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(timezone_id="America/New_York")
            page = context.new_page()
            sign_in(page, base, "ops@example.org")
            page.goto(f"{base}/admin/accounts")
            shown, exact = key_time(page)
            assert re.search(r"\d\d:\d\d E[SD]T, ", shown), shown
            assert page.locator("time").first.get_attribute("title") == exact

            page.get_by_role("link", name="Your settings").click()
            assert page.inner_text("#shown-zone") == "America/New_York"
            page.select_option("#timezone", "Asia/Kolkata")
            page.get_by_role("button", name="Save").click()
            page.wait_for_selector("#notice")
            assert page.inner_text("#shown-zone") == "Asia/Kolkata"
            violations = [
                v["id"]
                for v in Axe().run(page).response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert violations == []
            shot(page, "console-settings-1440")
            page.set_viewport_size({"width": 375, "height": 800})
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            shot(page, "console-settings-375")

            page.goto(f"{base}/admin/accounts")
            now_shown, now_exact = key_time(page)
            assert now_exact == exact  # the same moment...
            assert re.search(r"\d\d:\d\d IST, ", now_shown), now_shown  # ...in the new zone
            assert now_shown != shown
            browser.close()
    finally:
        stop(web)
