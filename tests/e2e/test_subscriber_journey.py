"""A reader's whole journey in headless Chromium against ``digest web``, a real SMTP
server and ``digest run``: subscribe → confirm → digest → change a topic → the next
digest follows → unsubscribe → nothing more. Each page is saved as a screenshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from tests.conftest import Cli, process_env, stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_web, web_port
from tests.integration.web.helpers import confirm_link, links_in

pytestmark = pytest.mark.slow


def reader(db_url: str) -> Subscriber:
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        sub.subscriptions  # noqa: B018 - load before the session closes
        s.expunge(sub)
        return sub


def plain(received) -> str:  # type: ignore[no-untyped-def]
    return received.message.get_body(preferencelist=("plain",)).get_content()


def test_a_reader_subscribes_confirms_changes_topics_and_leaves(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, broker, tmp_path
) -> None:
    world.topics("technology", "world", "sport")
    port, base = web_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_BROKER_URL=broker,
        DIGEST_SMTP_URL=smtp_server.url,
        DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL=base,
        DIGEST_FROM="Harbour Gazette <digest@news.example.org>",
        DIGEST_SITE_NAME="Harbour Gazette",
        DIGEST_ACCENT_COLOR="#0f766e",
        DIGEST_POSTAL_ADDRESS="1 Quay Street, Portsmouth",
    )
    cli = Cli(env, tmp_path)
    web = start_web(env, port, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(timezone_id="Europe/Brussels", locale="en-GB")
            page = context.new_page()

            # 1. The form: labelled fields, the browser's zone pre-selected.
            page.goto(f"{base}/subscribe")
            assert page.locator("#timezone").input_value() == "Europe/Brussels"
            page.get_by_label("Email address").fill("Ana@Example.org")
            page.get_by_label("Name").fill("Ana")
            page.get_by_label("Technology").check()
            page.locator("#frequency-technology").select_option("daily")
            page.get_by_label("Delivery hour").select_option("7")
            shot(page, "journey-1-subscribe")
            page.get_by_role("button", name="Subscribe").click()
            page.wait_for_selector("#check-inbox")
            shot(page, "journey-2-check-inbox")
            assert reader(db_url).status == "pending"

            # 2. The confirmation email arrives at the SMTP server; its link confirms.
            [confirmation] = smtp_server.wait_for(1)
            assert confirmation.rcpt_tos == ["ana@example.org"]
            page.goto(confirm_link(confirmation.message))
            shot(page, "journey-3-confirm")
            page.get_by_role("button", name="Confirm my subscription").click()
            page.wait_for_selector("#confirmed")
            shot(page, "journey-4-confirmed")
            sub = reader(db_url)
            assert sub.status == "active" and sub.timezone == "Europe/Brussels"
            assert {s.topic.slug: s.frequency for s in sub.subscriptions} == {"technology": "daily"}
            first = sub.next_slot_at
            assert first is not None and first > datetime.now(UTC)

            # 3. The next run at that slot sends the first digest.
            world.article("tech-1", first - timedelta(hours=2), ["technology"])
            world.article("world-1", first - timedelta(hours=2), ["world"])
            cli("run", "--now", (first + timedelta(minutes=1)).isoformat())
            digest = smtp_server.wait_for(2)[-1]
            assert "Story tech-1" in plain(digest) and "Story world-1" not in plain(digest)
            assert digest.message["Subject"].startswith("Harbour Gazette: ")

            # 4. Its preferences link: technology out, world in.
            page.goto(links_in(digest.message)["preferences"])
            shot(page, "journey-5-preferences")
            page.get_by_label("Technology").uncheck()
            page.get_by_label("World").check()
            page.get_by_role("button", name="Save changes").click()
            page.wait_for_selector("#notice")
            shot(page, "journey-6-preferences-saved")
            assert {s.topic.slug for s in reader(db_url).subscriptions} == {"world"}

            # 5. The following digest reflects it.
            second = first + timedelta(days=1)
            world.article("tech-2", second - timedelta(hours=2), ["technology"])
            world.article("world-2", second - timedelta(hours=2), ["world"])
            cli("run", "--now", (second + timedelta(minutes=1)).isoformat())
            digest = smtp_server.wait_for(3)[-1]
            assert "Story world-2" in plain(digest) and "Story tech-2" not in plain(digest)

            # 6. Unsubscribe from the email's link: one button, then no more digests.
            page.goto(links_in(digest.message)["unsubscribe"])
            shot(page, "journey-7-unsubscribe")
            page.get_by_role("button", name="Unsubscribe").click()
            page.wait_for_selector("#unsubscribed")
            shot(page, "journey-8-unsubscribed")
            assert reader(db_url).status == "unsubscribed"
            third = second + timedelta(days=1)
            world.article("world-3", third - timedelta(hours=2), ["world"])
            out = cli("run", "--now", (third + timedelta(minutes=1)).isoformat())
            assert "sent 0," in out, out
            assert len(smtp_server.received) == 3

            # 7. Keyboard only: the form can be filled and sent without a mouse.
            page.goto(f"{base}/subscribe")
            page.locator("#email").focus()
            page.keyboard.type("keys@example.org")
            page.keyboard.press("Tab")  # name
            page.keyboard.press("Tab")  # first topic (sport)
            page.keyboard.press("Space")
            assert page.get_by_label("Sport").is_checked()
            page.keyboard.press("Enter")
            page.wait_for_selector("#check-inbox")

            # 8. Narrow screens: the form fits a phone without sideways scrolling.
            phone = context.new_page()
            phone.set_viewport_size({"width": 360, "height": 740})
            phone.goto(f"{base}/subscribe")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, width
            shot(phone, "journey-9-subscribe-phone")
            browser.close()
    finally:
        stop(web)
