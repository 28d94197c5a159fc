"""An operator in headless Chromium: sign in, find a subscriber by a fragment of
their address, open their page, retry a failed delivery that then reaches a real
SMTP server. Screenshots of each page are saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import sync_playwright

from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.web.test_admin_access import PASSWORD, admin

pytestmark = pytest.mark.slow
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def test_an_operator_finds_a_subscriber_and_retries_a_failed_delivery(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, mail_settings, tmp_path
) -> None:
    world.topics("tech")
    for i in range(30):
        world.subscriber(f"reader{i}@example.org", "tech", T0)
    world.subscriber("marta.silva@example.net", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    smtp_server.handler.rcpt_replies["marta.silva@example.net"] = "554 5.7.1 refused by policy"
    sender = SMTPSender.from_url(smtp_server.url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == 1
    smtp_server.handler.rcpt_replies.clear()
    admin(db_url, "ops@example.org", "operator")

    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/admin")
            assert page.url.endswith("/admin/sign-in")
            page.get_by_label("Email address").fill("ops@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            shot(page, "admin-1-sign-in")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#sending-state")
            shot(page, "admin-2-dashboard")

            page.get_by_role("link", name="Subscribers").click()
            page.get_by_label("Address or name contains").fill("marta")
            page.get_by_role("button", name="Find").click()
            page.wait_for_load_state()
            shot(page, "admin-3-search")
            rows = page.locator("#subscribers tbody tr")
            assert rows.count() == 1
            page.get_by_role("link", name="marta.silva@example.net").click()
            page.wait_for_selector("#subscriber-email")
            assert "refused by policy" in page.inner_text("body")
            shot(page, "admin-4-subscriber")

            sent_before = len(smtp_server.received)
            page.get_by_role("button", name="Retry this delivery").click()
            page.wait_for_selector("#notice")
            shot(page, "admin-5-retried")
            assert "Sent again" in page.inner_text("#notice")
            [delivered] = smtp_server.wait_for(sent_before + 1)[sent_before:]
            assert delivered.rcpt_tos == ["marta.silva@example.net"]
            browser.close()
    finally:
        stop(web)
