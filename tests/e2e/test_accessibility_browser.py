"""Every email template and every reader page through axe-core in headless Chromium,
in light and dark, on a phone and a desktop: no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from digest.config import load_settings
from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.rendering.confirm import TopicChoice, render_confirmation
from digest.services.sending.composing import link_for
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, start_console
from tests.e2e.test_email_layout_browser import BRAND, LONG_LINK, long_digest_html

pytestmark = pytest.mark.slow

SEVERE = ("serious", "critical")
VIEWS = [(scheme, width) for scheme in ("light", "dark") for width in (375, 1280)]


def severe(page: Page) -> list[str]:
    """The serious and critical violations axe finds on ``page``."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in SEVERE
    ]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def emails() -> dict[str, str]:
    confirmation = render_confirmation(
        BRAND,
        email="ana@example.org",
        name="Ana",
        confirm_url=LONG_LINK,
        topics=[TopicChoice("Technology", "daily"), TopicChoice("World", "weekly")],
        hour=8,
        timezone="Europe/Brussels",
        weekday="Monday",
        expires_in=timedelta(days=2),
    )
    return {"digest": long_digest_html(), "confirmation": confirmation.html}


@pytest.mark.parametrize(("scheme", "width"), VIEWS)
def test_every_email_template_passes_axe(chromium: Browser, scheme: str, width: int) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    found = {}
    for name, html in emails().items():
        page = context.new_page()
        page.set_content(html)
        found[name] = severe(page)
    context.close()
    assert found == {name: [] for name in found}


def test_every_reader_page_passes_axe(  # type: ignore[no-untyped-def]
    chromium: Browser, world, db_url, smtp_server, tmp_path
) -> None:
    world.topics("tech", "world")
    world.subscriber("ana@example.org", "tech", world_now())
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    settings = load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
            "DIGEST_BASE_URL": base,
        }
    )
    with unit_of_work(db_url) as s:
        ana = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        links = {p: link_for(settings, p, ana) for p in ("preferences", "unsubscribe")}
    pages = {
        "front": f"{base}/",
        "subscribe": f"{base}/subscribe",
        "preferences": links["preferences"],
        "unsubscribe": links["unsubscribe"],
        "invalid link": f"{base}/preferences/not-a-token",
    }
    found: dict[str, list[str]] = {}
    try:
        for scheme, width in VIEWS:
            context = chromium.new_context(
                viewport={"width": width, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            for name, url in pages.items():
                page.goto(url)
                found[f"{name} {scheme} {width}"] = severe(page)
            context.close()
    finally:
        stop(web)
    assert found == {key: [] for key in found}


def world_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC) - timedelta(days=1)
