"""The console shows times in the admin's zone: their browser's (reported at sign-in)
until they choose one on /admin/me, which any admin may do."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import AdminUser
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import PASSWORD, admin


def sign_in_from(client, email: str, zone: str | None):  # type: ignore[no-untyped-def]
    form = client.get("/admin/sign-in")
    data = {"csrf_token": csrf_of(form.text), "email": email, "password": PASSWORD}
    if zone is not None:
        data["browser_zone"] = zone
    answer = client.post("/admin/sign-in", data=data, follow_redirects=False)
    assert answer.status_code == 303
    return client


def key_created(html: str) -> str:
    """The abbreviation the accounts page shows for an API key's creation time."""
    found = re.search(r'<time datetime="[^"]+" title="[^"]+">[^<]*?\d\d:\d\d (\w+),', html)
    assert found, html[-3000:]
    return found.group(1)


def test_times_follow_the_browser_then_the_admins_choice(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    with unit_of_work(db_url) as s:
        from digest.services.console.admins import create_api_key

        create_api_key(s, "script", "operator", datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    client = sign_in_from(browser(mail_settings), "ops@example.org", "Asia/Tokyo")
    assert key_created(client.get("/admin/accounts").text) == "JST"

    me = client.get("/admin/me")
    assert me.status_code == 200
    assert '<strong id="shown-zone">Asia/Tokyo</strong>' in me.text
    assert re.search(r'<option value="browser" selected>', me.text)
    saved = client.post(
        "/admin/me",
        data={"csrf_token": csrf_of(me.text), "timezone": "Europe/Brussels"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert key_created(client.get("/admin/accounts").text) == "CET"
    with unit_of_work(db_url) as s:
        assert s.scalars(select(AdminUser.timezone)).one() == "Europe/Brussels"

    # A zone that is not one is refused, naming the field; nothing changes.
    bad = client.post(
        "/admin/me", data={"csrf_token": csrf_of(me.text), "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422
    assert "timezone: unknown time zone &#39;Mars/Olympus&#39;" in bad.text
    assert key_created(client.get("/admin/accounts").text) == "CET"

    # Back to the browser's.
    client.post("/admin/me", data={"csrf_token": csrf_of(me.text), "timezone": "browser"})
    assert key_created(client.get("/admin/accounts").text) == "JST"


def test_without_a_browser_zone_times_are_in_utc_and_editors_have_settings_too(
    mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    admin(db_url, "ed@example.org", "editor")
    client = sign_in_from(browser(mail_settings), "ed@example.org", None)
    me = client.get("/admin/me")
    assert me.status_code == 200 and '<strong id="shown-zone">UTC</strong>' in me.text
    # A forged zone in the sign-in form is ignored, not stored.
    other = sign_in_from(browser(mail_settings), "ed@example.org", "<script>")
    theirs = other.get("/admin/me").text
    assert '<strong id="shown-zone">UTC</strong>' in theirs
    saved = other.post(
        "/admin/me",
        data={"csrf_token": csrf_of(theirs), "timezone": "America/New_York"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "America/New_York" in other.get("/admin/me").text
