"""Every console page in headless Chromium, at 1440 and 375 px, light and dark: the
navigation grouped by job (a sidebar on a desktop, a menu that opens on a phone),
breadcrumbs, nothing wider than the screen, and no serious axe violation. Screenshots
of each page go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from digest.config import load_settings
from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.mail.sender import SMTPSender
from digest.services import console
from digest.services.console import bulk
from digest.services.console.audit import act_as
from digest.services.console.importing import run_job, start_job
from digest.services.sending import pipeline
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.web.test_admin_access import PASSWORD, admin

pytestmark = [pytest.mark.slow, pytest.mark.once]

SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # the readers' first 07:00 UTC slot
VIEWS = [(scheme, width) for width in (1440, 375) for scheme in ("light", "dark")]


def seed(world, db_url: str, smtp_url: str, tmp_path: Path) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A console with something on every page: topics, a feed, articles, readers with
    a sent digest and a refused one, a suppression and an import job."""
    world.topics("tech", "world")
    for i in range(4):
        world.article(
            f"layout-{i}-with-a-rather-long-headline-that-must-wrap-on-a-phone",
            SLOT - timedelta(hours=i + 1),
            ["tech"],
        )
    world.subscriber("ana@example.org", "tech,world", SLOT - timedelta(hours=19))
    world.subscriber(
        "bob.with.a.long.address@subdomain.example.org", "tech", SLOT - timedelta(days=2)
    )
    with unit_of_work(db_url) as s:
        console.create_feed(
            s, "https://feeds.example.org/rss/tech.xml", ["tech"], allow_private=True
        )
        console.add_suppression(s, "blocked@example.org", SLOT, detail="asked by phone")
    with unit_of_work(db_url) as s:  # a change the audit log shows
        act_as(s, "ops@example.org", "console")
        console.update_topic(s, "tech", name="Technology and science", keywords="python, rust")
        job = start_job(s, "readers.csv", 60, confirmed=True, by="ops@example.org", now=SLOT)
        job_id = job.id
        ana = s.scalars(select(Subscriber.id).where(Subscriber.email == "ana@example.org")).one()
    upload = tmp_path / "readers.csv"
    upload.write_text("email,topics\ncara@example.org,tech\nnot-an-address,tech\n")
    run_job(db_url, job_id, str(upload), SLOT)
    settings = load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SMTP_URL": smtp_url,
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
        }
    )
    sender = SMTPSender.from_url(smtp_url)
    assert pipeline.run(db_url, settings, sender, lambda: SLOT).sent >= 1
    with unit_of_work(db_url) as s:  # a bulk action, done
        chosen = bulk.select_for(s, [ana], None)
        action = bulk.start_bulk(
            s, "pause", {"until": "2026-06-20"}, chosen, "ops@example.org", SLOT
        )
        action_id = action.id
    bulk.run_bulk(db_url, action_id, SLOT)
    return {"ana": ana, "job": job_id, "bulk": action_id}


def pages_of(ids: dict[str, int]) -> dict[str, str]:
    return {
        "dashboard": "/admin",
        "subscribers": "/admin/subscribers",
        "subscriber": f"/admin/subscribers/{ids['ana']}",
        "imports": "/admin/imports",
        "import": f"/admin/imports/{ids['job']}",
        "suppressions": "/admin/suppressions",
        "topics": "/admin/topics",
        "feeds": "/admin/feeds",
        "articles": "/admin/articles",
        "preview": f"/admin/preview?subscriber={ids['ana']}",
        "deliveries": "/admin/deliveries",
        "accounts": "/admin/accounts",
        "settings": "/admin/me",
        "audit": "/admin/audit",
        "bulk": f"/admin/bulk/{ids['bulk']}",
    }


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/sign-in")
    page.get_by_label("Email address").fill("ops@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#sending-state")


def severe(page: Page) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_console_page_fits_a_phone_and_passes_axe(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, tmp_path
) -> None:
    admin(db_url, "ops@example.org", "operator")
    ids = seed(world, db_url, smtp_server.url, tmp_path)
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    found: dict[str, list[str]] = {}
    wide: dict[str, int] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for scheme, width in VIEWS:
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, color_scheme=scheme
                )
                page = context.new_page()
                sign_in(page, base)
                for name, path in pages_of(ids).items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    key = f"{name} {scheme} {width}"
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    if scroll > width:
                        wide[key] = scroll
                    found[key] = severe(page)
                    if scheme == "light":
                        shot(page, f"console-{name}-{width}")
                context.close()
            browser.close()
    finally:
        stop(web)
    assert wide == {}, "pages wider than the screen"
    assert found == {key: [] for key in found}


def test_the_navigation_is_grouped_a_sidebar_on_desktops_and_a_menu_on_phones(  # type: ignore[no-untyped-def]
    db_url, smtp_server, tmp_path
) -> None:
    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            desk = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            sign_in(desk, base)
            desk.goto(f"{base}/admin/feeds")
            nav = desk.locator("nav.admin-nav")
            groups = [g.strip() for g in nav.locator(".nav-group").all_text_contents()]
            assert groups == ["Audience", "Content", "Sending"]
            assert nav.get_by_role("link", name="Feeds").get_attribute("aria-current") == "page"
            side, main = nav.bounding_box(), desk.locator("main").bounding_box()
            assert side is not None and main is not None
            assert side["x"] + side["width"] <= main["x"]  # beside the page, on the left
            crumbs = desk.locator("nav.breadcrumbs").inner_text()
            assert "Console" in crumbs and "Content" in crumbs and "Feeds" in crumbs

            phone = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            sign_in(phone, base)
            phone.goto(f"{base}/admin/feeds")
            menu = phone.locator("details.console-menu")
            assert menu.get_attribute("open") is None  # closed on a phone...
            assert not phone.get_by_role("link", name="Deliveries").is_visible()
            phone.locator("details.console-menu > summary").click()
            assert phone.get_by_role("link", name="Deliveries").is_visible()  # ...opens
            phone.get_by_role("link", name="Deliveries").click()
            assert phone.url.endswith("/admin/deliveries")
            browser.close()
    finally:
        stop(web)


def test_without_javascript_the_menu_is_open_on_a_phone(db_url, smtp_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(
                viewport={"width": 375, "height": 800}, java_script_enabled=False
            ).new_page()
            page.goto(f"{base}/admin/sign-in")
            page.get_by_label("Email address").fill("ops@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#sending-state")
            assert page.get_by_role("link", name="Deliveries").is_visible()
            browser.close()
    finally:
        stop(web)
