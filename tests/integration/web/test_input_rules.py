"""One rule for text from outside, over HTTP: the reader's forms, the console's forms,
the JSON API, the CSV import and the preview's query string refuse the same control
characters (and, in names, bidirectional controls) with an error naming the field,
never a server error and never a stored value; addresses that pass for others are
refused; the consent record names the site's own page, whatever the request claims."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Consent, ImportJob, Subscriber, Topic
from digest.services.sending.composing import link_for
from tests.integration.web.helpers import browser, csrf_of, path_of, subscribe
from tests.integration.web.test_admin_access import admin, sign_in
from tests.integration.web.test_admin_data import finished, upload
from tests.integration.web.test_api import Api, api_key
from tests.integration.web.test_subscriber_pages import subscriber

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T0_EMAIL = "ana@example.org"
# Each is refused in a name by every entry point: C0, DEL, C1, line breaks, tab,
# and a bidirectional override.
BAD_NAMES = {
    "NUL": "Ana\x00Lima",
    "SOH": "Ana\x01Lima",
    "ESC": "Ana\x1b[31mLima",
    "DEL": "Ana\x7fLima",
    "NEL": "Ana\x85Lima",
    "CSI": "Ana\x9bLima",
    "LF": "Ana\nLima",
    "TAB": "Ana\tLima",
    "RLO": "Ana\u202eamiL",
    "LRI": "Ana\u2066Lima",
}
LOOK_ALIKE = "reader@ex\u0430mple.org"  # a Cyrillic а in the domain


def name_error(html: str) -> str:
    """The message shown under the form's name field."""
    start = html.index('id="name-error">') + len('id="name-error">')
    return html[start : html.index("</p>", start)]


def reader(world, settings) -> str:  # type: ignore[no-untyped-def]
    """A confirmed reader named Ana; the path of their preferences page."""
    world.topics("tech")
    world.subscriber(T0_EMAIL, "tech", T0)
    with unit_of_work(settings.database_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == T0_EMAIL)).one()
        sub.name = "Ana"
        return path_of(settings, link_for(settings, "preferences", sub))


def save_preferences(client, path: str, name: str):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200
    return client.post(
        path,
        data={
            "csrf_token": csrf_of(page.text),
            "action": "save",
            "name": name,
            "topics": ["tech"],
            "frequency-tech": "daily",
            "hour": "7",
            "timezone": "UTC",
            "weekday": "mon",
        },
    )


def stored_name(db_url: str) -> str | None:
    sub = subscriber(db_url, T0_EMAIL)
    assert sub is not None
    return sub.name


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b"], ids=["NUL", "SOH", "ESC"])
def test_a_control_character_in_the_preferences_name_is_refused_naming_the_field(
    world, mail_settings, db_url, char
) -> None:  # type: ignore[no-untyped-def]
    path = reader(world, mail_settings)
    client = browser(mail_settings)
    answer = save_preferences(client, path, f"Ana{char}Lima")
    assert answer.status_code == 400
    assert "Please check the fields marked below." in answer.text
    assert 'id="name" value=' in answer.text and 'aria-invalid="true"' in answer.text
    assert name_error(answer.text) == (
        f"must not contain control characters (found U+{ord(char):04X})"
    )
    assert stored_name(db_url) == "Ana"
    # A good name is still saved, runs of spaces made one.
    assert save_preferences(client, path, "  Ana   Lima ").status_code == 200
    assert stored_name(db_url) == "Ana Lima"


@pytest.mark.parametrize("bad", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_the_forms_and_the_api_refuse_the_same_names(world, mail_settings, db_url, bad) -> None:  # type: ignore[no-untyped-def]
    path = reader(world, mail_settings)
    client = browser(mail_settings)

    preferences = save_preferences(client, path, bad)
    assert preferences.status_code == 400 and name_error(preferences.text)
    assert stored_name(db_url) == "Ana"

    signup = subscribe(client, "new@example.org", {"tech": "daily"}, name=bad)
    assert signup.status_code == 400 and name_error(signup.text)
    assert subscriber(db_url, "new@example.org") is None

    ops = Api(mail_settings, api_key(db_url, "operator"))
    created = ops(
        "POST", "/api/subscribers", {"email": "api@example.org", "topics": ["tech"], "name": bad}
    )
    assert created.status_code == 422
    [problem] = created.json()["detail"]
    assert problem["loc"] == ["body", "name"]
    assert problem["msg"].endswith(name_error(signup.text))  # the same words as the form
    assert subscriber(db_url, "api@example.org") is None
    changed = ops("PUT", "/api/subscribers/1", {"name": bad})
    assert changed.status_code == 422 and changed.json()["detail"][0]["loc"] == ["body", "name"]
    assert stored_name(db_url) == "Ana"


def test_the_forms_and_the_api_keep_the_same_good_names(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    path = reader(world, mail_settings)
    client = browser(mail_settings)
    good = "Zoë O’Brien-Ñúñez 李 عائشة"
    assert save_preferences(client, path, good).status_code == 200
    assert stored_name(db_url) == good
    ops = Api(mail_settings, api_key(db_url, "operator"))
    body = {"email": "api@example.org", "topics": ["tech"], "name": good}
    assert ops("POST", "/api/subscribers", body).status_code == 201
    assert subscriber(db_url, "api@example.org").name == good  # type: ignore[union-attr]


def test_a_preview_of_a_topic_slug_with_a_control_character_is_a_422_naming_topics(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    admin(db_url, "ed@example.org", "editor")
    client = browser(mail_settings)
    assert sign_in(client, "ed@example.org").status_code == 303
    for query in ("topics=%00", "topics=te%00ch", "topics=tech&topics=%1b", "topics=%C2%85"):
        page = client.get(f"/admin/preview?{query}")
        assert page.status_code == 422, query
        assert "topics: must not contain control characters" in page.text
        for frame in ("email.html", "message.eml"):
            answer = client.get(f"/admin/preview/{frame}?{query}")
            assert answer.status_code == 422, (frame, query)
            assert answer.text.startswith("topics: must not contain control characters")
    assert client.get("/admin/preview?topics=tech").status_code == 200


def operator_client(mail_settings, db_url):  # type: ignore[no-untyped-def]
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    assert sign_in(client, "ops@example.org").status_code == 303
    return client


@pytest.mark.parametrize("bad", ["Sci\x85ence", "Sci\u202eence", "Sci\x01ence"])
def test_console_topic_names_follow_the_rule_of_the_api(world, mail_settings, db_url, bad) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = operator_client(mail_settings, db_url)
    form = client.get("/admin/topics")
    token = csrf_of(form.text)
    added = client.post("/admin/topics", data={"csrf_token": token, "slug": "science", "name": bad})
    assert added.status_code == 422 and "name: must not contain" in added.text
    renamed = client.post("/admin/topics/tech", data={"csrf_token": token, "name": bad})
    assert renamed.status_code == 422 and "name: must not contain" in renamed.text
    keywords = client.post(
        "/admin/topics/tech", data={"csrf_token": token, "name": "Tech", "keywords": "a\x85b"}
    )
    assert keywords.status_code == 422 and "keywords: must not contain" in keywords.text
    ops = Api(mail_settings, api_key(db_url, "operator"))
    api = ops("POST", "/api/topics", {"slug": "science", "name": bad})
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["body", "name"]
    with unit_of_work(db_url) as s:
        assert {t.slug: t.name for t in s.scalars(select(Topic))} == {"tech": "Tech"}


def test_the_console_subscriber_form_names_the_refused_field(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    reader(world, mail_settings)
    sub = subscriber(db_url, T0_EMAIL)
    assert sub is not None
    client = operator_client(mail_settings, db_url)
    page = client.get(f"/admin/subscribers/{sub.id}")
    answer = client.post(
        f"/admin/subscribers/{sub.id}",
        data={
            "csrf_token": csrf_of(page.text),
            "action": "save",
            "name": "Ana\x9bLima",
            "topics": ["tech"],
            "hour": "7",
            "timezone": "UTC",
            "weekday": "mon",
        },
    )
    assert answer.status_code == 422
    assert "name: must not contain control characters (found U+009B)" in answer.text
    suppress = client.post(
        f"/admin/subscribers/{sub.id}",
        data={"csrf_token": csrf_of(page.text), "action": "suppress", "detail": "by\x85phone"},
    )
    assert suppress.status_code == 422 and "detail: must not contain" in suppress.text
    after = subscriber(db_url, T0_EMAIL)
    assert after is not None and (after.name, after.status) == ("Ana", "active")


def test_the_csv_import_refuses_rows_by_the_same_rule(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = operator_client(mail_settings, db_url)
    text = (
        "email,name,topics\n"
        "nel@example.org,Ana\x85Lima,tech\n"
        "rlo@example.org,Ana\u202eamiL,tech\n"
        "nul@example.org,Ana,te\x00ch\n"
        f"{LOOK_ALIKE},Ana,tech\n"
        "good@example.org,Zoë,tech\n"
    )
    posted = upload(client, text)
    assert posted.status_code == 303
    location = posted.headers["location"]
    page = finished(client, location)
    assert "Done: 5 rows read." in page
    rows = list(csv.DictReader(io.StringIO(client.get(location + "/problems.csv").text)))
    assert [(r["row"], r["column"]) for r in rows] == [
        ("2", "name"),
        ("3", "name"),
        ("4", "topics"),
        ("5", "email"),
    ]
    assert "control characters (found U+0085)" in rows[0]["reason"]
    assert "bidirectional text controls (found U+202E" in rows[1]["reason"]
    assert "control characters (found U+0000)" in rows[2]["reason"]
    assert "mixes Latin and Cyrillic letters" in rows[3]["reason"]
    with unit_of_work(db_url) as s:
        assert s.scalars(select(ImportJob.status)).one() == "done"
        assert list(s.scalars(select(Subscriber.email))) == ["good@example.org"]


def test_a_look_alike_address_is_refused_by_the_form_and_the_api(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    answer = subscribe(client, LOOK_ALIKE, {"tech": "daily"})
    assert answer.status_code == 400
    start = answer.text.index('id="email-error">')
    assert "mixes Latin and Cyrillic letters" in answer.text[start : start + 300]
    ops = Api(mail_settings, api_key(db_url, "operator"))
    api = ops("POST", "/api/subscribers", {"email": LOOK_ALIKE, "topics": ["tech"]})
    assert api.status_code == 422
    [problem] = api.json()["detail"]
    assert problem["loc"] == ["body", "email"]
    assert "mixes Latin and Cyrillic letters" in problem["msg"]
    also = ops("POST", "/api/suppressions", {"email": LOOK_ALIKE})
    assert also.status_code == 422
    with unit_of_work(db_url) as s:
        assert list(s.scalars(select(Subscriber.email))) == []


@pytest.mark.parametrize("email", ["reader@пример.рф", "müller@example.de", "иван@пример.рф"])
def test_single_script_addresses_still_subscribe(world, mail_settings, db_url, email) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    answer = subscribe(browser(mail_settings), email, {"tech": "daily"})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert subscriber(db_url, email) is not None


def test_the_consent_record_names_the_sites_page_not_the_host_header_or_a_forged_source(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    forged = {"Host": "evil.example"}
    form = client.get("/subscribe", headers=forged)
    assert form.status_code == 200
    assert 'name="source" value="https://news.example.org/digest/subscribe"' in form.text
    assert "evil.example" not in form.text
    answer = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_of(form.text),
            "email": "forged@example.org",
            "topics": ["tech"],
            "hour": "7",
            "timezone": "UTC",
            "weekday": "mon",
            "source": "https://evil.example/x",
        },
        headers=forged,
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    # Without a source field, the Host header is not used either.
    plain = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_of(form.text),
            "email": "plain@example.org",
            "topics": ["tech"],
        },
        headers=forged,
    )
    assert plain.status_code == 200
    with unit_of_work(db_url) as s:
        pages = {
            email: page
            for email, page in s.execute(
                select(Subscriber.email, Consent.page).join(
                    Consent, Consent.subscriber_id == Subscriber.id
                )
            )
        }
    assert pages == {
        "forged@example.org": "https://news.example.org/digest/subscribe",
        "plain@example.org": "https://news.example.org/digest/subscribe",
    }
