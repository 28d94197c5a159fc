"""An editor in headless Chromium: sign in, open a subscriber's next digest, switch
to the mobile width and to dark mode, read why each article is in or out, and send
a test copy that reaches a real SMTP server. Screenshots of each step are saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.web.test_admin_access import PASSWORD, admin

pytestmark = pytest.mark.slow


def test_an_editor_previews_a_digest_and_sends_a_test_copy(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path
) -> None:
    # The preview opens on the reader's next slot from the real clock: put it about
    # two hours ahead, with articles from the last few hours.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    world.topics("tech", "trade")
    world.subscriber(
        "marta.silva@example.net",
        "tech,trade",
        now - timedelta(days=1),
        hour=(now + timedelta(hours=2)).hour,
    )
    world.article("chips", now - timedelta(hours=1), ["tech"])
    world.article("ports", now - timedelta(hours=2), ["trade", "tech"])
    world.article("shelved", now - timedelta(hours=3), ["tech"], held=True)
    world.article("lead", now - timedelta(hours=20), ["tech"], pinned_until=now + timedelta(days=2))
    admin(db_url, "ed@example.org", "editor")

    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/admin/sign-in")
            page.get_by_label("Email address").fill("ed@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#sending-state")

            page.get_by_role("link", name="Preview").click()
            page.get_by_label("The reader's address").fill("Marta.Silva@example.net")
            page.get_by_role("button", name="Find").click()
            page.get_by_role("link", name="marta.silva@example.net").click()
            page.wait_for_selector("#email-frame")
            frame = page.frame_locator("#email-frame")
            frame.get_by_role("link", name="Story chips").wait_for()
            assert page.locator("#email-frame").bounding_box()["width"] == 640  # type: ignore[index]
            shot(page, "preview-1-desktop")

            page.get_by_role("link", name="Mobile (375 px)").click()
            page.wait_for_selector("#email-frame.mobile")
            frame.get_by_role("link", name="Story chips").wait_for()
            assert page.locator("#email-frame").bounding_box()["width"] == 375  # type: ignore[index]
            # The email's own narrow-screen rules apply inside the frame.
            container = frame.locator("table.container").first
            assert container.bounding_box()["width"] < 375  # type: ignore[index]
            shot(page, "preview-2-mobile")

            page.get_by_role("link", name="Dark mode").click()
            page.wait_for_selector("#email-frame.mobile")
            frame.get_by_role("link", name="Story chips").wait_for()
            assert "scheme=dark" in (page.locator("#email-frame").get_attribute("src") or "")
            body = frame.locator("body")
            background = body.evaluate("b => getComputedStyle(b).backgroundColor")
            assert background == "rgb(17, 24, 39)"  # the email's dark-mode background
            shot(page, "preview-3-mobile-dark")

            reasons = page.locator("#reasons")
            text = reasons.inner_text()
            assert "Included, #1 in the email, pinned until" in text
            assert "Held out of all digests" in text
            assert "Duplicate: this article is shown under Tech." in text
            first_row = page.locator("#reasons tr.included").first
            assert "Story lead" in first_row.inner_text()
            page.locator("#reasons").scroll_into_view_if_needed()
            shot(page, "preview-4-reasons")

            assert page.get_by_label("To").input_value() == "ed@example.org"
            page.get_by_role("button", name="Send test copy").click()
            page.wait_for_selector("#notice")
            assert "Test copy sent to ed@example.org." in page.inner_text("#notice")
            shot(page, "preview-5-test-sent")
            browser.close()
    finally:
        stop(web)
    [copy] = smtp_server.wait_for(1)
    assert copy.rcpt_tos == ["ed@example.org"]
    assert copy.message["Subject"].startswith("[TEST] ")
    html = copy.message.get_body(("html",)).get_content()
    assert "Story lead" in html and "Story shelved" not in html
