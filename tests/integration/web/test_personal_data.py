"""Readers' personal data (the subscriber list, consent records with their IP address
and browser, suppressions, deliveries) is an operator's alone, in the API and in the
console; editors still preview any subscriber's next digest."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.services.readers.suppressing import suppress
from tests.integration.web.helpers import browser, subscribe
from tests.integration.web.test_admin_access import admin, api_key, sign_in
from tests.integration.web.test_admin_data import finished, upload

PERSONAL_API = ("/api/subscribers", "/api/suppressions", "/api/deliveries")
PERSONAL_PAGES = ("/admin/subscribers", "/admin/suppressions", "/admin/deliveries")


def _a_reader(world, mail_settings, db_url) -> int:  # type: ignore[no-untyped-def]
    world.topics("tech")
    subscribe(browser(mail_settings), "ana@example.org", {"tech": "daily"})
    with unit_of_work(db_url) as s:
        return s.scalars(select(Subscriber.id)).one()


def test_editors_get_no_personal_data_from_the_api(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    sub_id = _a_reader(world, mail_settings, db_url)
    client = browser(mail_settings)
    as_editor = {"Authorization": f"Bearer {api_key(db_url, 'editor')}"}
    as_operator = {"Authorization": f"Bearer {api_key(db_url, 'operator')}"}
    for path in (*PERSONAL_API, f"/api/subscribers/{sub_id}"):
        refused = client.get(path, headers=as_editor)
        assert refused.status_code == 403, path
        assert "ana@example.org" not in refused.text and "ReaderBrowser" not in refused.text
        assert client.get(path, headers=as_operator).status_code == 200, path
    detail = client.get(f"/api/subscribers/{sub_id}", headers=as_operator).json()
    assert detail["consents"][0]["user_agent"] == "ReaderBrowser/1.0"
    # What editors do needs none of it.
    assert client.get("/api/topics", headers=as_editor).status_code == 200
    assert client.get("/api/articles", headers=as_editor).status_code == 200


def test_editors_get_no_personal_data_from_the_console(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    sub_id = _a_reader(world, mail_settings, db_url)
    admin(db_url, "ed@example.org", "editor")
    admin(db_url, "ops@example.org", "operator")
    editor, operator = browser(mail_settings), browser(mail_settings)
    sign_in(editor, "ed@example.org")
    sign_in(operator, "ops@example.org")
    for path in (*PERSONAL_PAGES, f"/admin/subscribers/{sub_id}"):
        refused = editor.get(path)
        assert refused.status_code == 403, path
        assert "ana@example.org" not in refused.text, path
        assert operator.get(path).status_code == 200, path
    home = editor.get("/admin")
    assert 'href="/admin/subscribers"' not in home.text
    assert 'href="/admin/subscribers"' in operator.get("/admin").text
    # The editor's own work: the preview of this reader's next digest.
    preview = editor.get(f"/admin/preview?subscriber={sub_id}")
    assert preview.status_code == 200


def test_import_reports_quote_addresses_so_editors_cannot_open_them(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    admin(db_url, "ops@example.org", "operator")
    admin(db_url, "ed@example.org", "editor")
    operator, editor = browser(mail_settings), browser(mail_settings)
    sign_in(operator, "ops@example.org")
    sign_in(editor, "ed@example.org")
    rows = "email,name,topics,frequency,timezone,hour,weekday\n"
    rows += "ann@example.org,Ann,tech,daily,UTC,7,mon\nzoe@example.org,Zoe,tech,daily,UTC,7,mon\n"
    with unit_of_work(db_url) as s:
        suppress(s, "zoe@example.org", "complaint", "marked as spam", datetime.now(UTC))
    started = upload(operator, rows)
    assert started.status_code == 303
    job = started.headers["location"]
    assert "zoe@example.org" in finished(operator, job) + operator.get(job + "/problems.csv").text
    for path in ("/admin/imports", job, job + "/problems.csv"):
        refused = editor.get(path)
        assert refused.status_code == 403, path
        assert "zoe@example.org" not in refused.text, path
