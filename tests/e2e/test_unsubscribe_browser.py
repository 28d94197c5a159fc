"""The unsubscribe page in headless Chromium, served by ``digest web``."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.services.sending.composing import link_for
from tests.conftest import process_env, stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, start_web, web_port

pytestmark = pytest.mark.slow


def start(db_url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port, base = web_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL=base,
    )
    return start_web(env, port, tmp_path), base


def test_unsubscribe_in_a_browser(world, settings, db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    sub_id = world.subscriber("reader@example.org", "tech", datetime.now(UTC) - timedelta(days=1))
    proc, base = start(db_url, tmp_path)
    with unit_of_work(db_url) as s:
        web_settings = dataclasses.replace(settings, base_url=base)
        url = link_for(web_settings, "unsubscribe", s.get_one(Subscriber, sub_id))
    token = url.rsplit("/", 1)[1]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/unsubscribe/{token}")
            assert "r•••@example.org" in page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "unsubscribe-confirm.png"), full_page=True)
            with unit_of_work(db_url) as s:
                assert s.scalars(select(Subscriber.status)).one() == "active"

            page.get_by_role("button", name="Unsubscribe").click()
            page.wait_for_load_state()
            assert "unsubscribed" in page.inner_text("body").lower()
            page.screenshot(path=str(SCREENSHOTS / "unsubscribe-done.png"), full_page=True)
            with unit_of_work(db_url) as s:
                assert s.scalars(select(Subscriber.status)).one() == "unsubscribed"

            page.goto(f"{base}/unsubscribe/{token}x")
            assert "link" in page.inner_text("body").lower()
            page.screenshot(path=str(SCREENSHOTS / "unsubscribe-invalid.png"), full_page=True)
            browser.close()
    finally:
        stop(proc)
