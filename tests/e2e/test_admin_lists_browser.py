"""An operator in headless Chromium imports a CSV from the console and watches its
progress, downloads the refused rows, then goes through the topics, feeds,
suppression list and deliveries pages and retries every failed delivery, which
reach a real SMTP server. Screenshots of each page are saved."""

from __future__ import annotations

import csv
import io
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


def test_an_operator_imports_a_list_and_works_through_the_lists(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, mail_settings, tmp_path
) -> None:
    world.topics("tech", "world")
    for i in range(2):
        world.subscriber(f"failed{i}@example.org", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    for i in range(2):
        smtp_server.handler.rcpt_replies[f"failed{i}@example.org"] = "554 5.7.1 refused by policy"
    sender = SMTPSender.from_url(smtp_server.url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == 2
    smtp_server.handler.rcpt_replies.clear()
    admin(db_url, "ops@example.org", "operator")
    upload = tmp_path / "readers.csv"
    upload.write_text(
        "email,name,topics,frequency,timezone,hour\n"
        + "".join(f"new{i}@example.org,New {i},tech;world,daily,UTC,7\n" for i in range(3000))
        + "oops,Bad,tech,daily,UTC,7\nlate@example.org,Late,tech,daily,UTC,99\n",
        encoding="utf-8",
    )

    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(accept_downloads=True)
            page.goto(f"{base}/admin/sign-in")
            page.get_by_label("Email address").fill("ops@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#sending-state")

            page.get_by_role("link", name="Import/export").click()
            page.get_by_label("CSV file").set_input_files(str(upload))
            page.get_by_label("make new ones active at once", exact=False).check()
            shot(page, "lists-1-import-form")
            page.get_by_role("button", name="Import").click()
            page.wait_for_selector("#progress")
            shot(page, "lists-2-import-progress")
            page.wait_for_selector("#import-status:has-text('Done')", timeout=60_000)
            shot(page, "lists-3-import-done")
            assert page.inner_text("#added") == "3000"
            assert page.inner_text("#refused") == "2"
            with page.expect_download() as download:
                page.get_by_role("link", name="Download every refused row").click()
            report = list(csv.reader(io.StringIO(download.value.path().read_text("utf-8"))))
            assert [r[:2] for r in report] == [
                ["row", "column"],
                ["3002", "email"],
                ["3003", "hour"],
            ]

            page.get_by_role("link", name="Topics").click()
            page.get_by_label("Keywords of tech, separated by commas").fill("software, chips")
            page.locator("#topic-tech").get_by_role("button", name="Save").click()
            page.wait_for_selector("#topic-tech")
            assert page.locator("#keywords-tech").input_value() == "software, chips"
            assert page.locator("#topic-tech td").nth(2).inner_text() == "3002"
            shot(page, "lists-4-topics")

            page.get_by_role("link", name="Suppressions").click()
            page.get_by_label("Address").fill("trap@example.org")
            page.get_by_label("Detail").fill("known spam trap")
            page.get_by_role("button", name="Add").click()
            page.wait_for_selector("#suppressions")
            assert "known spam trap" in page.inner_text("#suppressions")
            shot(page, "lists-5-suppressions")

            page.get_by_role("link", name="Feeds").click()
            shot(page, "lists-6-feeds")

            page.get_by_role("link", name="Deliveries").click()
            page.get_by_label("Status").select_option("failed")
            page.get_by_role("button", name="Show").click()
            page.wait_for_load_state()
            assert page.locator("#deliveries tbody tr").count() == 2
            shot(page, "lists-7-deliveries-failed")
            page.get_by_role("button", name="Retry all failed").click()
            page.wait_for_selector("#retry-report")
            assert "Retried 2: 2 sent" in page.inner_text("#retry-report")
            shot(page, "lists-8-deliveries-retried")
            received = smtp_server.wait_for(2)
            assert sorted(r.rcpt_tos[0] for r in received) == [
                "failed0@example.org",
                "failed1@example.org",
            ]
            browser.close()
    finally:
        stop(web)
