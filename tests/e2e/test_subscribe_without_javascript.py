"""The subscribe form works in a browser with JavaScript off: plain HTML fields, UTC
as the zone (no script picks the browser's), and the confirmation email goes out."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from tests.conftest import process_env, stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_web, web_port
from tests.integration.web.helpers import confirm_link

pytestmark = pytest.mark.slow


def test_subscribing_without_javascript(world, db_url, smtp_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world.topics("technology", "world")
    port, base = web_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_SMTP_URL=smtp_server.url,
        DIGEST_SECRET_KEY="test-secret",
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL=base,
        DIGEST_FROM="Example News <digest@news.example.org>",
    )
    web = start_web(env, port, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # With scripts on, the page would pick this zone; off, it must stay UTC.
            context = browser.new_context(
                java_script_enabled=False, timezone_id="Europe/Brussels", locale="en-GB"
            )
            page = context.new_page()
            page.goto(f"{base}/subscribe")
            assert page.locator("#timezone").input_value() == "UTC"
            page.get_by_label("Email address").fill("nojs@example.org")
            page.get_by_label("World").check()
            shot(page, "nojs-1-subscribe")
            page.get_by_role("button", name="Subscribe").click()
            page.wait_for_selector("#check-inbox")
            assert "Check your inbox" in page.locator("h1").inner_text()
            shot(page, "nojs-2-check-inbox")

            [confirmation] = smtp_server.wait_for(1)
            assert confirmation.rcpt_tos == ["nojs@example.org"]
            assert confirm_link(confirmation.message).startswith(f"{base}/confirm/")
            browser.close()
    finally:
        stop(web)
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "nojs@example.org")).one()
        assert (sub.status, sub.timezone) == ("pending", "UTC")
        assert [x.topic.slug for x in sub.subscriptions] == ["world"]
