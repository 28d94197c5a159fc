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
        DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
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


def test_every_field_is_labelled_and_the_whole_form_works_from_the_keyboard(
    world, db_url, smtp_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    world.topics("technology", "world")
    port, base = web_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_SMTP_URL=smtp_server.url,
        DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL=base,
        DIGEST_FROM="Example News <digest@news.example.org>",
    )
    web = start_web(env, port, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/subscribe")
            # Every control a reader can reach has a label that names it.
            unlabelled = page.evaluate(
                """() => [...document.querySelectorAll('input, select, button, textarea')]
                    .filter(el => el.type !== 'hidden' && el.tabIndex >= 0)
                    .filter(el => el.tagName === 'BUTTON'
                        ? !el.textContent.trim()
                        : !(el.labels && el.labels.length && el.labels[0].textContent.trim()))
                    .map(el => el.name || el.id)"""
            )
            assert unlabelled == []
            # The honeypot is out of the keyboard's way and hidden from screen readers.
            assert page.evaluate(
                "() => [...document.querySelectorAll('[aria-hidden=true] input')]"
                ".every(el => el.tabIndex < 0)"
            )

            # Tab through the whole form, choosing with the keyboard only.
            page.get_by_label("Email address").focus()
            page.keyboard.type("keys@example.org")
            chosen: list[str] = []
            for _ in range(40):
                page.keyboard.press("Tab")
                focused = page.evaluate("() => document.activeElement.id")
                chosen.append(focused)
                if focused == "topic-world":
                    page.keyboard.press("Space")
                elif focused == "frequency-world":
                    page.keyboard.press("ArrowDown")  # daily -> weekly
                elif focused == "hour":
                    page.keyboard.press("Home")  # 00:00
                    for _ in range(6):
                        page.keyboard.press("ArrowDown")  # 06:00
                elif focused == "weekday":
                    page.keyboard.press("ArrowDown")
                elif page.evaluate("() => document.activeElement.type") == "submit":
                    break
            assert {"topic-world", "frequency-world", "hour", "timezone", "weekday"} <= set(chosen)
            weekday = page.locator("#weekday").input_value()
            page.keyboard.press("Enter")
            page.wait_for_selector("#check-inbox")
            browser.close()
    finally:
        stop(web)
    smtp_server.wait_for(1)
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "keys@example.org")).one()
        assert sub.hour == 6
        assert {x.topic.slug: x.frequency for x in sub.subscriptions} == {"world": "weekly"}
        assert ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][sub.weekday] == weekday
