"""Rendering in the reader's language: words from the catalogues, dates, numbers and
lists from CLDR, right to left for Arabic, and blocks cached per language."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from digest.config import Branding, ConfigError, load_settings
from digest.domain.languages import LANGUAGES
from digest.rendering import blocks
from digest.rendering.confirm import TopicChoice, render_confirmation
from digest.rendering.i18n import join_names, local_date, local_time, translate_plural
from digest.services.sending.composing import reason_for
from tests.unit.rendering.factories import article, content, elements, recipient, render


def in_language(language: str, count: int = 3):  # type: ignore[no-untyped-def]
    c = content(("technology", [article(i, version=f"lang-{i}") for i in range(1, count + 1)]))
    return dataclasses.replace(c, language=language)


def html_attrs(html: str) -> dict[str, str | None]:
    return next(a for t, a in elements(html) if t == "html")


@pytest.mark.parametrize(
    ("language", "greeting", "unsubscribe", "edition"),
    [
        ("en", "Hello Ana,", "Unsubscribe", "Tue 17 Mar · 3 new articles"),
        ("es", "Hola, Ana,", "Darse de baja", "mar, 17 mar · 3 artículos nuevos"),
        ("fr", "Bonjour Ana,", "Se désabonner", "mar. 17 mars · 3 nouveaux articles"),
        ("de", "Hallo Ana,", "Abmelden", "Di., 17. März · 3 neue Artikel"),
        ("ar", "مرحبًا Ana،", "إلغاء الاشتراك", "الثلاثاء، 17 مارس · 3 مقالات جديدة"),
    ],
)
def test_a_digest_speaks_the_readers_language(
    language: str, greeting: str, unsubscribe: str, edition: str
) -> None:
    email = render(in_language(language))
    attrs = html_attrs(email.html)
    assert attrs["lang"] == language
    assert attrs["dir"] == ("rtl" if language == "ar" else "ltr")
    assert greeting in email.html and greeting in email.text
    assert f">{unsubscribe}</a>" in email.html
    assert edition in email.html


def test_arabic_mirrors_the_layout_and_lists() -> None:
    email = render(in_language("ar", count=7))  # long enough for the headline list
    # Gmail drops the <html> element's attributes: the wrapper carries the direction.
    assert any(t == "table" and a.get("dir") == "rtl" for t, a in elements(email.html))
    # List indents move to the side the numbers are on.
    contents_list = next(a for t, a in elements(email.html) if t == "ol")
    assert "padding-right:22px" in (contents_list.get("style") or "").replace(" ", "")
    english = render(in_language("en", count=7))
    english_list = next(a for t, a in elements(english.html) if t == "ol")
    assert "padding-left:22px" in (english_list.get("style") or "").replace(" ", "")


def test_blocks_are_cached_per_language_so_no_reader_gets_another_language() -> None:
    blocks.clear()
    english = render(in_language("en", count=7))
    french = render(in_language("fr", count=7))
    assert "Sommaire" in french.html or "Dans cette" in french.html
    assert "In this digest" in english.html and "In this digest" not in french.html
    # Article times were cached for English first; French gets its own.
    assert "Mon 16 Mar, 15:30" in english.html
    assert "lun. 16 mars, 15:30" in french.html and "Mon 16 Mar" not in french.html


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "1 مقالة جديدة"),
        (2, "2 مقالتان جديدتان"),  # the dual
        (3, "3 مقالات جديدة"),  # 3 to 10: plural
        (11, "11 مقالة جديدة"),  # 11 to 99: singular again
        (100, "100 مقالة جديدة"),
    ],
)
def test_arabic_counts_take_the_form_arabic_grammar_asks(n: int, words: str) -> None:
    assert translate_plural("ar", "%(num)s new article", "%(num)s new articles", n) == words


def test_numbers_dates_and_lists_follow_the_locale() -> None:
    assert translate_plural("de", "%(num)s new article", "%(num)s new articles", 1234) == (
        "1.234 neue Artikel"
    )
    moment = datetime(2026, 11, 24, 6, 5, tzinfo=UTC)
    assert local_time(moment, "Europe/Brussels", "en") == "Tue 24 Nov, 07:05"
    assert local_time(moment, "Europe/Brussels", "de") == "Di., 24. Nov., 07:05"
    assert local_date(moment, "Asia/Tokyo", "fr") == "mar. 24 nov."
    assert join_names(["Tech", "World", "Trade"], "en") == "Tech, World and Trade"
    assert join_names(["Tech", "World"], "es") == "Tech y World"
    assert reason_for(["World", "Tech"], "fr") == (
        "Vous recevez cet e-mail parce que vous suivez Tech et World."
    )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_confirmation_email_is_in_the_readers_language(language: str) -> None:
    email = render_confirmation(
        Branding(site_name="Example News"),
        email="reader@example.org",
        name="Ana",
        confirm_url="https://news.example.org/confirm/tok",
        topics=[TopicChoice("Tech", "weekly")],
        hour=7,
        timezone="Europe/Paris",
        weekday=2,
        expires_in=timedelta(days=2),
        language=language,
    )
    attrs = html_attrs(email.html)
    assert attrs["lang"] == language and attrs["dir"] == ("rtl" if language == "ar" else "ltr")
    english = ("Confirm your", "Hello", "weekly", "Wednesday", "days", "Someone")
    if language != "en":
        assert not [w for w in english if w in email.text or w in email.subject]
    assert "Example News" in email.subject and "https://news.example.org/confirm/tok" in email.text


def test_the_site_language_is_a_setting_refused_clearly_when_unknown() -> None:
    assert load_settings({}).language == "en"
    assert load_settings({"DIGEST_LANGUAGE": "fr"}).language == "fr"
    with pytest.raises(ConfigError, match="DIGEST_LANGUAGE: unknown language 'klingon'"):
        load_settings({"DIGEST_LANGUAGE": "klingon"})


def test_a_digest_without_language_follows_the_default_english() -> None:
    email = render(content(("technology", [article(1)])), recipient(name=None))
    assert html_attrs(email.html)["lang"] == "en" and email.text.startswith("Hello,")


def test_the_confirmation_text_never_breaks_an_address_or_a_link() -> None:
    address = "jean-pierre.de-la-fontaine-de-saint-exupery@example.org"
    email = render_confirmation(
        Branding(site_name="Example News with a rather long name for a newsletter"),
        email=address,
        name=None,
        confirm_url="https://news.example.org/confirm/" + "x-y" * 30,
        topics=[TopicChoice("Tech", "daily")],
        hour=7,
        timezone="America/Argentina/Buenos_Aires",
        weekday=0,
        expires_in=timedelta(hours=36),
    )
    assert address in email.text
    assert "36 hours" in email.text


def test_places_and_days_are_written_the_languages_way() -> None:
    from digest.rendering.i18n import local_day, zone_place

    assert zone_place("America/Argentina/Buenos_Aires", "ar").count("،") == 1
    assert zone_place("America/Argentina/Buenos_Aires", "fr") == "Buenos Aires, Argentine"
    moment = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert local_day(moment, "UTC", "en") == "Monday, 7 December 2026"
    assert local_day(moment, "UTC", "es") == "lunes, 7 de diciembre de 2026"
