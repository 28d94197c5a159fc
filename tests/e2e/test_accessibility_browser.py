"""Every email template and every reader page through axe-core in headless Chromium,
in light and dark, on a phone and a desktop: no serious or critical violation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select, update

from digest.config import Settings, load_settings
from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.mail.sender import SMTPSender
from digest.rendering.confirm import TopicChoice, render_confirmation
from digest.services.readers import signup
from digest.services.readers.choices import Choices
from digest.services.sending import pipeline
from digest.services.sending.composing import link_for
from tests.conftest import stop
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, shot, start_console
from tests.e2e.test_email_layout_browser import BRAND, LONG_LINK, long_digest_html

pytestmark = [pytest.mark.slow, pytest.mark.once]

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
    """Every email template, in English and in Arabic (right to left)."""
    found = {}
    for language in ("en", "ar"):
        confirmation = render_confirmation(
            BRAND,
            email="ana@example.org",
            name="Ana",
            confirm_url=LONG_LINK,
            topics=[TopicChoice("Technology", "daily"), TopicChoice("World", "weekly")],
            hour=8,
            timezone="Europe/Brussels",
            weekday=0,
            expires_in=timedelta(days=2),
            language=language,
        )
        found[f"digest {language}"] = long_digest_html(language)
        found[f"confirmation {language}"] = confirmation.html
    return found


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


def reader_pages(
    base: str, settings: Settings, db_url: str, language: str, view: str
) -> list[Step]:
    """Every page a reader meets, in the order they meet them: the front page and the
    form, the answer, confirming, preferences, unsubscribing and undoing it, the
    page for a bad link."""
    email = f"reader-{language}-{view}@example.org"
    with unit_of_work(db_url) as s:
        request = signup.request_subscription(
            s,
            email,
            Choices({"tech": "daily"}, 7, "Europe/Brussels", 0, language=language),
            signup.Origin("127.0.0.1", "axe", None, language),
            settings,
            datetime.now(UTC),
        )
        assert request.send_consent_id is not None
        confirm = signup.confirm_url(settings, request.send_consent_id)
    query = f"?language={language}"

    def subscribe(page: Page) -> None:
        page.goto(f"{base}/subscribe{query}")
        page.fill("#email", f"form-{language}-{view}@example.org")
        page.check("#topic-tech")
        page.click("form button[type=submit]")

    def links() -> dict[str, str]:
        with unit_of_work(db_url) as s:
            reader = s.scalars(select(Subscriber).where(Subscriber.email == email)).one()
            return {p: link_for(settings, p, reader) for p in ("preferences", "unsubscribe")}

    return [
        ("front", lambda page: page.goto(f"{base}/{query}")),
        ("subscribe", lambda page: page.goto(f"{base}/subscribe{query}")),
        ("check inbox", subscribe),
        ("confirm", lambda page: page.goto(confirm)),
        ("confirmed", lambda page: page.click("#confirm-subscription")),
        ("confirmed before", lambda page: page.goto(confirm)),
        ("preferences", lambda page: page.goto(links()["preferences"])),
        ("saved", lambda page: page.click("#save")),
        ("unsubscribe", lambda page: page.goto(links()["unsubscribe"])),
        ("unsubscribed", lambda page: page.click("#confirm-unsubscribe")),
        ("resubscribed", lambda page: page.click("#undo-unsubscribe")),
        ("invalid link", lambda page: page.goto(f"{base}/preferences/not-a-token{query}")),
    ]


Step = tuple[str, Callable[[Page], object]]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_reader_page_passes_axe(  # type: ignore[no-untyped-def]
    chromium: Browser, world, db_url, smtp_server, tmp_path, language: str
) -> None:
    world.topics("tech", "world")
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    settings = load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
            "DIGEST_BASE_URL": base,
        }
    )
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    try:
        for scheme, width in VIEWS:
            context = chromium.new_context(
                viewport={"width": width, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            # Each view walks the whole path again, as another reader.
            view = f"{scheme}-{width}"
            for name, step in reader_pages(base, settings, db_url, language, view):
                step(page)
                page.wait_for_load_state()
                html = page.locator("html")
                assert html.get_attribute("lang") == language, name
                assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), name
                assert page.evaluate("document.documentElement.scrollWidth") <= width, name
                found[f"{name} {scheme} {width}"] = severe(page)
                seen.add(name)
                if width == 375 and name in ("subscribe", "preferences"):
                    shot(page, f"page-{name}-{language}-{width}-{scheme}")
            context.close()
    finally:
        stop(web)
    assert len(seen) == 12
    assert found == {key: [] for key in found}


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_web_view_of_a_digest_passes_axe_and_fits(  # type: ignore[no-untyped-def]
    chromium: Browser, world, db_url, smtp_server, tmp_path, language: str
) -> None:
    web, base = start_console(db_url, smtp_server.url, tmp_path)
    settings = load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
            "DIGEST_BASE_URL": base,
            "DIGEST_SMTP_URL": smtp_server.url,
        }
    )
    slot = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    world.topics("tech")
    for i in range(7):
        world.article(f"view-{i}", slot - timedelta(hours=i + 1), ["tech"])
    world.subscriber("ana@example.org", "tech", slot - timedelta(days=1))
    with unit_of_work(db_url) as s:
        s.execute(update(Subscriber).values(language=language))
    sender = SMTPSender.from_url(settings.smtp_url)
    assert pipeline.run(db_url, settings, sender, lambda: slot).sent == 1
    html = smtp_server.received[-1].message.get_body(preferencelist=("html",)).get_content()
    link = re.search(r'<a class="view-link" href="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    found: dict[str, list[str]] = {}
    try:
        for scheme, width in VIEWS:
            context = chromium.new_context(
                viewport={"width": width, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            page.goto(link)
            assert page.locator("html").get_attribute("lang") == language
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.locator("a.article-title").count() == 7
            found[f"{scheme} {width}"] = severe(page)
            if width == 375:
                shot(page, f"page-web-view-{language}-{width}-{scheme}")
            context.close()
    finally:
        stop(web)
    assert found == {key: [] for key in found}
