"""A bulk action in Chromium on 10,000 readers, deleting them with their data:
filtered, reviewed, confirmed; it runs in the background while its page shows the
progress, ends with every match gone, and the audit log names who did it and to how
many."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import func, insert, select

from digest.db.engine import unit_of_work
from digest.db.models import AuditEntry, Subscriber, Subscription, Suppression, Topic
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.e2e.test_console_layout_browser import severe, sign_in
from tests.integration.web.test_admin_access import admin

pytestmark = pytest.mark.slow

READERS = 10_000
T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def seed(db_url: str) -> None:
    """10,000 French readers of tech and 50 English ones, written directly."""
    with unit_of_work(db_url) as s:
        s.add_all(
            [
                Topic(slug="tech", name="Tech", keywords=[]),
                Topic(slug="world", name="World", keywords=[]),
            ]
        )
        s.flush()
        tech = s.scalar(select(Topic.id).where(Topic.slug == "tech"))
        rows = [
            {
                "email": f"lecteur{i}@example.fr" if i < READERS else f"reader{i}@example.org",
                "status": "active",
                "timezone": "Europe/Paris",
                "hour": 7,
                "weekday": 0,
                "language": "fr" if i < READERS else "en",
                "created_at": T0 - timedelta(minutes=i),
                "confirmed_at": T0,
                "link_epoch": 0,
            }
            for i in range(READERS + 50)
        ]
        s.execute(insert(Subscriber), rows)
        ids = list(s.scalars(select(Subscriber.id)))
        s.execute(
            insert(Subscription),
            [{"subscriber_id": i, "topic_id": tech, "frequency": "daily"} for i in ids],
        )


def test_deleting_ten_thousand_readers_runs_in_the_background_with_progress(  # type: ignore[no-untyped-def]
    db_url, smtp_server, tmp_path
) -> None:
    admin(db_url, "ops@example.org", "operator")
    seed(db_url)
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    seen: list[tuple[int, int]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            sign_in(page, base)
            page.goto(f"{base}/admin/subscribers?language=fr&status=active")
            assert "10,000 subscribers match" in page.locator("#total").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.get_by_label("all 10,000 matching this filter").check()
            page.get_by_label("Action").select_option("delete")
            page.get_by_role("button", name="Review…").click()
            summary = page.locator("#summary").inner_text()
            assert "delete, with all their data, 10,000 subscribers" in summary
            assert "language 'fr'" in summary
            assert severe(page) == []
            shot(page, "console-bulk-confirm-375")
            page.get_by_role(
                "button", name="Yes, delete, with all their data, 10,000 subscribers"
            ).click()
            page.wait_for_url(re.compile(r"/admin/bulk/\d+$"))
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                status = page.locator("#bulk-status").inner_text()
                bar = page.locator("#progress")
                seen.append(
                    (int(bar.get_attribute("value") or 0), int(bar.get_attribute("max") or 0))
                )
                if status.startswith("Done"):
                    break
                page.wait_for_timeout(700)
                page.reload()
            assert (
                page.locator("#bulk-status")
                .inner_text()
                .startswith("Done: 10,000 changed of 10,000")
            )
            assert severe(page) == []
            shot(page, "console-bulk-375")
            page.goto(f"{base}/admin/audit?action=bulk")
            entry = page.locator("#audit tbody tr").first.inner_text()
            assert "ops@example.org" in entry and "10000 of 10000 changed" in entry
            shot(page, "console-audit-375")
            browser.close()
    finally:
        stop(web)
    # The page showed the work under way before it showed it done.
    assert seen[0][1] == READERS and any(value < READERS for value, _ in seen)
    with unit_of_work(db_url) as s:
        by_language = select(Subscriber.language, func.count()).group_by(Subscriber.language)
        left = {language: n for language, n in s.execute(by_language)}
        assert left == {"en": 50}  # every French reader gone, the others kept
        erased = select(func.count()).where(Suppression.reason == "erased")
        assert s.scalar(erased) == READERS
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulk delete"))
        assert entry.actor == "ops@example.org" and '"changed": 10000' in (entry.after or "")
