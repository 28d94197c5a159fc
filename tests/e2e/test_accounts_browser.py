"""In headless Chromium: an operator disables an editor on the accounts page and the
editor's open console is signed out; a reader replaces their links and the old one
stops working."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.services.sending.composing import link_for
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.integration.web.test_admin_access import PASSWORD, admin

pytestmark = pytest.mark.slow


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/admin/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#sending-state")


def test_disabling_an_editor_signs_them_out_and_a_reader_replaces_links(  # type: ignore[no-untyped-def]
    world, db_url, smtp_server, settings, tmp_path
) -> None:
    admin(db_url, "ops@example.org", "operator")
    admin(db_url, "ed@example.org", "editor")
    world.topics("tech")
    sub_id = world.subscriber("ana@example.org", "tech", datetime.now(UTC))
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            operator = browser.new_context().new_page()
            editor = browser.new_context().new_page()
            _sign_in(editor, base, "ed@example.org")
            _sign_in(operator, base, "ops@example.org")

            operator.get_by_role("link", name="Accounts").click()
            operator.get_by_role("button", name="Disable ed@example.org").click()
            operator.wait_for_selector("#notice")
            assert "Disabled" in operator.inner_text("#notice")
            shot(operator, "accounts-after-disable")

            editor.reload()
            assert editor.url.endswith("/admin/sign-in")

            with unit_of_work(db_url) as s:
                web_settings = dataclasses.replace(settings, base_url=base)
                old = link_for(web_settings, "preferences", s.get_one(Subscriber, sub_id))
            reader = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            reader.goto(old)
            reader.get_by_role("button", name="Replace my links").click()
            reader.wait_for_selector("#notice")
            assert "Your links are replaced" in reader.inner_text("#notice")
            assert reader.url.split("?")[0] != old
            shot(reader, "preferences-links-replaced")
            reader.goto(old)
            assert "link" in reader.inner_text("body").lower()
            with unit_of_work(db_url) as s:
                assert s.scalars(select(Subscriber.link_epoch)).one() == 1
            browser.close()
    finally:
        stop(web)
