"""Import and export from the console: an uploaded CSV is imported in the
background with its progress on a page, refused rows are downloadable, and the
export streams the list back."""

from __future__ import annotations

import csv
import io
import re
import time

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import ImportJob, Subscriber
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in

ROWS = "".join(
    f"reader{i}@example.org,Reader {i},tech,daily,Europe/Paris,{i % 24},mon\n" for i in range(2500)
)
FILE = (
    "email,name,topics,frequency,timezone,hour,weekday\n"
    + ROWS
    + "broken,X,tech,daily,UTC,7,mon\n"
    + "late@example.org,Late,tech,daily,UTC,24,mon\n"
)


def upload(client, text: str, confirmed: bool = True):  # type: ignore[no-untyped-def]
    # The sign-in form carries the same token the import form would (an editor's
    # page has no import form to take it from).
    data = {"csrf_token": csrf_of(client.get("/admin/sign-in").text)}
    if confirmed:
        data["confirmed"] = "1"
    return client.post(
        "/admin/imports",
        data=data,
        files={"file": ("list.csv", text.encode(), "text/csv")},
        follow_redirects=False,
    )


def finished(client, location: str) -> str:  # type: ignore[no-untyped-def]
    for _ in range(300):
        page = client.get(location)
        if 'http-equiv="refresh"' not in page.text:
            return page.text
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


def test_an_operator_imports_a_file_watches_it_and_downloads_the_refused_rows(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")

    posted = upload(client, FILE)
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert re.fullmatch(r"/admin/imports/\d+", location)
    page = finished(client, location)

    assert re.search(r'id="added">2500<', page)
    assert re.search(r'id="refused">2<', page)
    assert "Done: 2502 rows read." in page
    report = client.get(location + "/problems.csv")
    assert report.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(report.text)))[0] == ["row", "column", "reason"]
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [(r["row"], r["column"]) for r in rows] == [("2502", "email"), ("2503", "hour")]
    with unit_of_work(db_url) as s:
        assert s.query(Subscriber).filter(Subscriber.status == "active").count() == 2500
        job = s.scalars(select(ImportJob)).one()
        assert (job.status, job.started_by, job.read_bytes) == (
            "done",
            "ops@example.org",
            len(FILE),
        )

    again = finished(client, upload(client, FILE).headers["location"])
    assert re.search(r'id="added">0<', again) and re.search(r'id="updated">0<', again)
    assert re.search(r'id="unchanged">2500<', again)

    exported = client.get("/admin/export/subscribers.csv")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    lines = exported.text.splitlines()
    assert len(lines) == 2501 and lines[1].startswith("reader0@example.org,Reader 0,tech,daily")


def test_a_file_that_cannot_be_imported_says_why_on_its_page(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    sign_in(client, "ops@example.org")
    page = finished(
        client, upload(client, "address,topics\na@example.org,tech\n").headers["location"]
    )
    assert "Stopped: the header lacks the column(s) email" in page


def test_editors_cannot_import_or_export_and_forms_need_the_csrf_token(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    admin(db_url, "ed@example.org", "editor")
    admin(db_url, "ops@example.org", "operator")
    anonymous = browser(mail_settings)
    assert anonymous.get("/admin/imports", follow_redirects=False).status_code == 303
    assert anonymous.get("/admin/export/subscribers.csv", follow_redirects=False).status_code == 303

    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    page = editor.get("/admin/imports")
    assert page.status_code == 403 and 'id="import-form"' not in page.text
    assert upload(editor, FILE).status_code == 403
    assert editor.get("/admin/export/subscribers.csv").status_code == 403

    operator = browser(mail_settings)
    sign_in(operator, "ops@example.org")
    no_token = operator.post(
        "/admin/imports",
        data={"confirmed": "1"},
        files={"file": ("list.csv", FILE.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    with unit_of_work(db_url) as s:
        assert s.query(Subscriber).count() == 0
        assert s.query(ImportJob).count() == 0
