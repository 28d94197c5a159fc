"""The unsubscribe page in headless Chromium, served by ``digest web``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.services.composing import link_for
from tests.conftest import REPO, free_port, process_env, stop

pytestmark = pytest.mark.slow

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def start_web(db_url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_SECRET_KEY="test-secret",
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL=f"http://127.0.0.1:{port}",
    )
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "web", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    stop(proc)
    raise AssertionError((tmp_path / "web.log").read_text())


def test_unsubscribe_in_a_browser(world, settings, db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    sub_id = world.subscriber("reader@example.org", "tech", datetime.now(UTC) - timedelta(days=1))
    proc, base = start_web(db_url, tmp_path)
    with unit_of_work(db_url) as s:
        web_settings = dataclasses.replace(settings, base_url=base)
        url = link_for(web_settings, "unsubscribe", s.get_one(Subscriber, sub_id))
    token = url.rsplit("/", 1)[1]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/unsubscribe/{token}")
            assert "reader@example.org" in page.inner_text("body")
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
