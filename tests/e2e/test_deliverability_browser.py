"""An operator in headless Chromium after a relay started throttling and a reader's
mailbox filled up: the dashboard says the circuit breaker paused sending and why, the
operator resumes it, and the reader's page lists the bounce with what the policy
did. Screenshots of each page are saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.embedded import sender_for
from digest.services.bounces import handling as bouncing
from digest.services.sending import pipeline
from digest.services.sending.controls import pause_state
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.services import bounce_mail
from tests.integration.services.relay_servers import settings_for, timed_servers
from tests.integration.web.test_admin_access import PASSWORD, admin

pytestmark = pytest.mark.slow
T0 = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 3, 17, 7, 0, tzinfo=UTC)
READERS = 60


def test_an_operator_sees_why_sending_paused_resumes_it_and_reads_a_bounce(  # type: ignore[no-untyped-def]
    world, settings, broker, db_url, tmp_path
) -> None:
    world.topics("tech")
    world.article("t1", SLOT - timedelta(hours=1), ["tech"])
    world.subscriber("marta@example.net", "tech", T0)
    for i in range(READERS):
        world.subscriber(f"r{i}@example.org", "tech", T0)
    admin(db_url, "ops@example.org", "operator")

    with timed_servers() as (relay,):
        current = settings_for(
            settings,
            broker,
            DIGEST_SMTP_URL=relay.url,
            DIGEST_BOUNCE_ADDRESS="bounces@bounce.example.org",
            DIGEST_BREAKER_WINDOW="30",
            DIGEST_BREAKER_MIN_ATTEMPTS="20",
        )
        # Marta's digest goes first and is accepted; then the relay throttles.
        relay.handler.rcpt_rule = lambda n: None if n == 1 else "421 4.7.0 Too many messages"
        pipeline.run(db_url, current, sender_for(current), lambda: SLOT)
        assert relay.handler.rcpts < READERS  # stopped by itself
    with unit_of_work(db_url) as s:
        assert pause_state(s).by == "circuit breaker"
    marta = relay.handler.received[0]
    assert marta.rcpt_tos == ["marta@example.net"]
    assert marta.mail_from.startswith("bounces+")
    full = bounce_mail.dsn(
        None,
        to=marta.mail_from,
        recipient="marta@example.net",
        status="5.2.2",
        diagnostic="552 5.2.2 Mailbox full",
    )
    with unit_of_work(db_url) as s:
        bouncing.take_in(s, current, full, source="import", now=SLOT + timedelta(hours=1))
        marta_id = s.scalars(
            select(Subscriber.id).where(Subscriber.email == "marta@example.net")
        ).one()

    web, base = start_console(db_url, relay.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/admin/sign-in")
            page.get_by_label("Email address").fill("ops@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#sending-state")
            reason = page.inner_text("#pause-reason")
            assert reason.startswith("circuit breaker: ")
            assert "throttled (421 / 4.7.x)" in reason
            assert "Paused by circuit breaker" in page.inner_text("#sending-state")
            shot(page, "breaker-1-paused")
            page.get_by_role("button", name="Resume sending").click()
            page.wait_for_selector("#sending-state.notice")
            assert page.inner_text("#sending-state") == "Sending is running."
            shot(page, "breaker-2-resumed")

            page.goto(f"{base}/admin/subscribers/{marta_id}")
            table = page.locator("#bounce-events")
            assert table.locator("tbody tr").count() == 1
            row = table.locator("tbody tr").first.inner_text()
            assert "soft" in row and "5.2.2" in row and "552 5.2.2 Mailbox full" in row
            assert "verp · import" in row
            assert "counted: soft 5.2.2 (mailbox_full), 1 of 3 within 14 days" in row
            assert "soft bounce" in page.inner_text(".digest h3")
            shot(page, "bounces-subscriber-page")
            browser.close()
    finally:
        stop(web)
    with unit_of_work(db_url) as s:
        assert not pause_state(s).paused
