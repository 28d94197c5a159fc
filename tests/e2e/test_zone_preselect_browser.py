"""The subscribe form preselects the reader's own zone in Chromium, also when the
browser reports it by an old name (Chromium says Asia/Calcutta for India)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, start_console


@pytest.mark.parametrize(
    ("browser_zone", "selected"),
    [("Asia/Kolkata", "Asia/Kolkata"), ("America/Buenos_Aires", "America/Argentina/Buenos_Aires")],
)
def test_the_browsers_zone_is_preselected_by_its_current_name(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path, browser_zone: str, selected: str
) -> None:
    world.topics("tech")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(timezone_id=browser_zone)
            page = context.new_page()
            page.goto(f"{base}/subscribe")
            reported = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
            assert page.eval_on_selector("#timezone", "s => s.value") == selected, reported
            browser.close()
    finally:
        stop(web)
