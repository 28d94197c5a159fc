"""Every reader in their own language: chosen on the form (preselected from the
browser's Accept-Language), changed in preferences, set by the API and the CSV
import; emails and pages follow it, Arabic right to left."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, datetime, timedelta

from markupsafe import escape
from sqlalchemy import select, update

from digest.db.engine import unit_of_work
from digest.db.models import Consent, Subscriber
from digest.domain.consent import consent_wording
from digest.domain.schedule import next_slot_after
from digest.mail.sender import SMTPSender
from digest.services.console.importing import export_lines
from digest.services.readers.choices import cadence_of
from digest.services.sending import pipeline
from tests.integration.web.helpers import browser, confirm_link, csrf_of, links_in, path_of


def selected_language(html: str) -> str:
    field = re.search(r'<select name="language".*?</select>', html, re.S)
    assert field, "the page has no language field"
    chosen = re.findall(r'<option value="([^"]+)"[^>]*selected', field.group(0))
    assert len(chosen) == 1
    return chosen[0]


def html_element(html: str) -> str:
    found = re.search(r"<html[^>]*>", html)
    assert found
    return found.group(0)


def form_data(page: str, email: str, **extra: str) -> dict[str, object]:
    return {
        "csrf_token": csrf_of(page),
        "shown_language": re.search(r'name="shown_language" value="(\w+)"', page).group(1),  # type: ignore[union-attr]
        "email": email,
        "topics": ["tech"],
        "frequency-tech": "daily",
        "hour": "7",
        "timezone": "Europe/Paris",
        "weekday": "mon",
        **extra,
    }


def stored(db_url: str, email: str) -> Subscriber:
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        s.expunge(sub)
        return sub


def test_the_form_speaks_the_browsers_language_and_preselects_it(world, mail_settings) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    french = client.get("/subscribe", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr" dir="ltr">' in french.text
    assert selected_language(french.text) == "fr"
    assert "Adresse e-mail" in french.text or "Adresse électronique" in french.text
    assert "Email address" not in french.text
    assert french.headers["Vary"] == "Accept-Language"
    # Weekdays and the regions of the zone list are in French too.
    assert ">lundi<" in french.text.lower() and 'label="Europe"' in french.text
    # The consent wording is shown in the page's language.
    assert str(escape(consent_wording("2026-11", "fr"))) in french.text

    # A language the site does not offer: the next one the browser accepts.
    german = client.get("/", headers={"Accept-Language": "pt-BR, de;q=0.8"})
    assert html_element(german.text).startswith('<html lang="de"')
    assert selected_language(german.text) == "de"
    # None offered at all: the site's language.
    other = client.get("/subscribe", headers={"Accept-Language": "ja, zh;q=0.9"})
    assert html_element(other.text) == '<html lang="en" dir="ltr">'
    # Arabic reads right to left.
    arabic = client.get("/subscribe", headers={"Accept-Language": "ar"})
    assert html_element(arabic.text) == '<html lang="ar" dir="rtl">'
    # ?language= shows the form in that language whatever the browser says.
    asked = client.get("/subscribe?language=es", headers={"Accept-Language": "de"})
    assert html_element(asked.text).startswith('<html lang="es"')


def test_the_site_default_language_serves_readers_who_chose_none(world, mail_settings) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    german_site = dataclasses.replace(mail_settings, language="de")
    page = browser(german_site).get("/subscribe")
    assert html_element(page.text).startswith('<html lang="de"')
    assert selected_language(page.text) == "de"


def test_an_arabic_reader_gets_the_confirmation_pages_and_digests_in_arabic(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    form = client.get("/subscribe", headers={"Accept-Language": "en"})
    answer = client.post(
        "/subscribe",
        data=form_data(form.text, "layla@example.org", language="ar", name="Layla"),
        headers={"Accept-Language": "en"},
    )
    # The answer is in the language the reader chose.
    assert answer.status_code == 200
    assert html_element(answer.text) == '<html lang="ar" dir="rtl">'
    assert stored(db_url, "layla@example.org").language == "ar"
    with unit_of_work(db_url) as s:
        consent = s.scalars(select(Consent)).one()
        # The form was shown in English: that is the wording agreed to.
        assert consent.wording_version == "2026-11"
        assert consent.choices["language"] == "ar"

    [mail] = smtp_server.received
    message = mail.message
    assert message["Subject"] == "أكّد اشتراكك في Digest"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert html_element(html) == '<html lang="ar" dir="rtl" xmlns="http://www.w3.org/1999/xhtml">'
    assert 'dir="rtl"' in html.split("<body", 1)[1]  # kept where clients drop <html>
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Layla" in text and "Hello" not in text and "Confirm" not in text

    link = confirm_link(message)
    page = client.get(path_of(mail_settings, link))
    assert html_element(page.text) == '<html lang="ar" dir="rtl">'
    done = client.post(path_of(mail_settings, link), data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and html_element(done.text).startswith('<html lang="ar"')

    # The first digest: Arabic words, dates and layout.
    world.article("arabic-1", datetime.now(UTC) - timedelta(minutes=5), ["tech"])
    sub = stored(db_url, "layla@example.org")
    slot = next_slot_after(cadence_of(sub), datetime.now(UTC) - timedelta(minutes=1))
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    sent = pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: slot).sent
    assert sent == 1
    digest = smtp_server.received[-1].message
    assert digest["Subject"] == "Digest: Story arabic-1"
    body = digest.get_body(preferencelist=("html",)).get_content()
    assert html_element(body).startswith('<html lang="ar" dir="rtl"')
    assert "مرحبًا Layla" in body and "Hello" not in body
    assert "إلغاء الاشتراك" in body  # "Unsubscribe"
    plain = digest.get_body(preferencelist=("plain",)).get_content()
    assert "مقالة" in plain  # "article", counted the Arabic way
    # The footer links lead to pages in Arabic.
    links = links_in(digest)
    prefs = client.get(path_of(mail_settings, links["preferences"]))
    assert html_element(prefs.text) == '<html lang="ar" dir="rtl">'
    assert selected_language(prefs.text) == "ar"
    unsub = client.get(path_of(mail_settings, links["unsubscribe"]))
    assert html_element(unsub.text).startswith('<html lang="ar"')


def test_a_reader_changes_language_in_preferences_from_the_next_email(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    now = datetime.now(UTC)
    world.subscriber("ana@example.org", "tech", now - timedelta(days=1))
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber)).one()
        from digest.services.sending.composing import link_for

        link = link_for(mail_settings, "preferences", sub)
    client = browser(mail_settings)
    page = client.get(path_of(mail_settings, link), headers={"Accept-Language": "de"})
    # A reader's own page is in their language, not the browser's: the site's here.
    assert html_element(page.text).startswith('<html lang="en"')
    assert selected_language(page.text) == "en"
    saved = client.post(
        path_of(mail_settings, link),
        data={
            "csrf_token": csrf_of(page.text),
            "action": "save",
            "topics": ["tech"],
            "frequency-tech": "daily",
            "hour": "7",
            "timezone": "UTC",
            "weekday": "mon",
            "language": "es",
        },
    )
    assert saved.status_code == 200
    assert html_element(saved.text).startswith('<html lang="es"')
    assert "Guardado" in saved.text or "guardad" in saved.text.lower()
    assert stored(db_url, "ana@example.org").language == "es"

    bad = client.post(
        path_of(mail_settings, link),
        data={
            "csrf_token": csrf_of(page.text),
            "action": "save",
            "topics": ["tech"],
            "language": "klingon",
        },
    )
    assert bad.status_code == 400
    assert 'id="language-error"' in bad.text
    assert stored(db_url, "ana@example.org").language == "es"  # kept

    world.article("es-1", now - timedelta(minutes=5), ["tech"])
    sub = stored(db_url, "ana@example.org")
    slot = next_slot_after(cadence_of(sub), now - timedelta(minutes=1))
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: slot).sent == 1
    text = smtp_server.received[-1].message.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Hola,") and "Tu resumen diario" in text


def test_the_csv_import_sets_languages_and_names_a_bad_one_by_row(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    from digest.services.console.importing import import_subscribers

    world.topics("tech")
    world.subscriber("kept@example.org", "tech", datetime.now(UTC))
    with unit_of_work(db_url) as s:
        s.scalars(select(Subscriber)).one().language = "fr"
    data = (
        "email,topics,language\n"
        "a@example.org,tech,de\n"
        "b@example.org,tech,AR\n"
        "c@example.org,tech,xx\n"
        "kept@example.org,tech,\n"
    )
    problems: list = []  # type: ignore[type-arg]
    import_subscribers(
        db_url,
        io.BytesIO(data.encode()),
        confirmed=True,
        now=datetime.now(UTC),
        on_problem=problems.append,
    )
    assert [(p.row, p.column) for p in problems] == [(4, "language")]
    assert "unknown language 'xx'" in problems[0].reason
    assert stored(db_url, "a@example.org").language == "de"
    assert stored(db_url, "b@example.org").language == "ar"
    assert stored(db_url, "kept@example.org").language == "fr"  # an empty cell keeps it
    exported = "".join(export_lines(db_url)).splitlines()
    header = exported[0].split(",")
    rows = {line.split(",")[0]: line.split(",") for line in exported[1:]}
    assert rows["a@example.org"][header.index("language")] == "de"
    assert rows["kept@example.org"][header.index("language")] == "fr"


def test_the_api_sets_reads_and_checks_a_readers_language(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.web.test_api import Api, api_key, some_data

    some_data(db_url)
    ops = Api(mail_settings, api_key(db_url, "operator"))
    made = ops(
        "POST", "/api/subscribers", {"email": "d@example.org", "topics": ["tech"], "language": "de"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["subscriber"]["language"] == "de"
    url = f"/api/subscribers/{made.json()['id']}"
    assert ops("PUT", url, {"language": "ar"}).json()["subscriber"]["language"] == "ar"
    assert ops("PUT", url, {"hour": 9}).json()["subscriber"]["language"] == "ar"  # kept
    refused = ops("PUT", url, {"language": "klingon"})
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "language"] and "use one of en, es" in problem["msg"]
    assert ops("GET", url).json()["subscriber"]["language"] == "ar"
    # Without one, a new reader follows the site's language.
    plain = ops("POST", "/api/subscribers", {"email": "e@example.org", "topics": ["tech"]})
    assert plain.json()["subscriber"]["language"] is None
    document = ops("GET", "/api/openapi.json").json()
    field = document["components"]["schemas"]["SubscriberIn"]["properties"]["language"]
    assert "en, es, fr, de, ar" in field["description"]


def test_a_known_reader_asking_in_another_language_confirms_in_it(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", datetime.now(UTC) - timedelta(days=3))
    client = browser(mail_settings)
    form = client.get("/subscribe")
    answer = client.post("/subscribe", data=form_data(form.text, "ana@example.org", language="fr"))
    assert answer.status_code == 200
    # Known readers are left as they are until they confirm...
    assert stored(db_url, "ana@example.org").language is None
    [mail] = smtp_server.received
    assert mail.message["Subject"].startswith("Confirmez")
    link = confirm_link(mail.message)
    # ... but the request's pages speak the language it asked for.
    page = client.get(path_of(mail_settings, link))
    assert html_element(page.text).startswith('<html lang="fr"')
    done = client.post(path_of(mail_settings, link), data={"csrf_token": csrf_of(page.text)})
    assert html_element(done.text).startswith('<html lang="fr"')
    assert stored(db_url, "ana@example.org").language == "fr"


def test_saving_preferences_does_not_pin_a_reader_to_the_sites_language(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    from digest.services.sending.composing import link_for

    world.topics("tech")
    world.subscriber("ana@example.org", "tech", datetime.now(UTC) - timedelta(days=1))
    with unit_of_work(db_url) as s:
        link = link_for(mail_settings, "preferences", s.scalars(select(Subscriber)).one())
    client = browser(mail_settings)
    page = client.get(path_of(mail_settings, link))
    fields = {
        "csrf_token": csrf_of(page.text),
        "action": "save",
        "topics": ["tech"],
        "frequency-tech": "daily",
        "hour": "9",
        "timezone": "UTC",
        "weekday": "mon",
        "language": selected_language(page.text),  # the site's, as the form showed it
    }
    assert client.post(path_of(mail_settings, link), data=fields).status_code == 200
    reader = stored(db_url, "ana@example.org")
    assert reader.hour == 9 and reader.language is None  # still follows the site
    # A reader's language that is no longer offered: their pages use the site's.
    with unit_of_work(db_url) as s:
        s.execute(update(Subscriber).values(language="pt"))
    again = client.get(path_of(mail_settings, link))
    assert again.status_code == 200 and html_element(again.text).startswith('<html lang="en"')


def test_a_form_sent_back_with_errors_stays_in_the_language_it_was_shown_in(
    world, mail_settings
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    front = client.get("/?language=de")
    assert html_element(front.text).startswith('<html lang="de"')
    data = form_data(front.text, "not-an-address")
    answer = client.post("/subscribe", data=data)  # the front page posts to /subscribe
    assert answer.status_code == 400
    assert html_element(answer.text).startswith('<html lang="de"')
    assert 'id="email-error"' in answer.text and "name@example.org" in answer.text
