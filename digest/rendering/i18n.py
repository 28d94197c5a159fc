"""Readers' languages: the gettext catalogues, and dates, numbers and lists in the
reader's locale (Babel, from CLDR).

The catalogues live in ``digest/locale/<code>/LC_MESSAGES/messages.po`` with their
compiled ``.mo`` beside them; docs/languages.md says how to extract, update and
compile them. English is the language of the source strings; its catalogue is kept
complete too, so a wording can change there without touching the templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_skeleton, get_day_names, get_timezone_location
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.support import Translations

from digest.domain.languages import LANGUAGES, direction

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
# The CLDR locale each language's dates, numbers and lists follow. English uses the
# day-month order and 24-hour clock that the rest of the world reads without effort.
_FORMATS = {"en": "en_GB"}


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues where it is defined; translated where shown."""
    return message


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of ``language``; an error when one that is offered is
    missing (a broken install must not send English to every reader silently)."""
    if language not in LANGUAGES:
        raise LookupError(f"no catalogue for language {language!r}")
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as catalogue:
        return Translations(catalogue, domain=DOMAIN)


def translate(language: str, message: str, **values: Any) -> str:
    """``message`` in ``language``, with ``%(name)s`` values filled in."""
    text = translations(language).ugettext(message)
    return text % values if values else text


def translate_plural(language: str, singular: str, plural: str, n: int, **values: Any) -> str:
    """The form of ``singular``/``plural`` that ``n`` takes in ``language``; ``%(num)s``
    is ``n`` written the locale's way."""
    text = translations(language).ungettext(singular, plural, n)
    return text % {"num": format_number(n, language), **values}


@cache
def locale_of(language: str) -> Locale:
    return Locale.parse(_FORMATS.get(language, language))


@lru_cache(maxsize=4096)
def format_number(n: int, language: str) -> str:
    """``1,234`` / ``1.234`` / ``1 234``: grouped as the locale groups."""
    return format_decimal(n, locale=locale_of(language))


def join_names(names: list[str], language: str) -> str:
    """``A, B and C`` in ``language``'s words (``A وB وC``)."""
    return format_list(names, locale=locale_of(language)) if names else ""


@lru_cache(maxsize=8192)
def local_date(moment: datetime, zone: str, language: str = "en") -> str:
    """``Tue 24 Nov`` / ``mar, 24 nov`` / ``الثلاثاء، 24 نوفمبر`` in the reader's zone."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_skeleton("MMMEd", local, locale=locale_of(language))


def local_day(moment: datetime, zone: str, language: str = "en") -> str:
    """``Monday, 7 December 2026`` / ``lunes, 7 de diciembre de 2026`` in the reader's
    zone and language."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_date(local.date(), "full", locale=locale_of(language))


@lru_cache(maxsize=8192)
def local_time(moment: datetime, zone: str, language: str = "en") -> str:
    """``Tue 24 Nov, 07:05`` in the reader's zone and language (the same few slots,
    zones and languages come back for every reader, so answers are kept)."""
    local = moment.astimezone(ZoneInfo(zone))
    locale = locale_of(language)
    clock = format_skeleton("Hm", local, locale=locale)
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", local_date(moment, zone, language)).replace("{0}", clock)


@cache
def weekday_names(language: str) -> tuple[str, ...]:
    """Monday to Sunday in ``language``, as a list shows them."""
    names = get_day_names("wide", context="stand-alone", locale=locale_of(language))
    return tuple(str(names[day]) for day in range(7))


def zone_place(zone: str, language: str) -> str:
    """Where a time zone is, in ``language``: its city, and its country when the
    zone's name has one between region and city (``Knox [Indiana], États-Unis``)."""
    city = str(get_timezone_location(zone, locale=locale_of(language), return_city=True))
    if zone.count("/") < 2:
        return city
    territory = get_global("zone_territories").get(zone)
    country = locale_of(language).territories.get(territory, "") if territory else ""
    comma = "، " if direction(language) == "rtl" else ", "
    return f"{city}{comma}{country}" if country else city


@dataclass(frozen=True)
class Phrase:
    """Words for a reader, said in their language when shown: a catalogue message
    with its values. ``str()`` gives the English (logs, the API)."""

    message: str
    values: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return self.message % dict(self.values) if self.values else self.message

    def said_in(self, language: str) -> str:
        return translate(language, self.message, **dict(self.values))


def phrase(message: str, **values: Any) -> Phrase:
    """A :class:`Phrase` (extracted into the catalogues under this name)."""
    return Phrase(message, tuple(values.items()))


def say(value: object, language: str) -> str:
    """``value`` for a reader: a phrase in their language, anything else as it is."""
    return value.said_in(language) if isinstance(value, Phrase) else str(value)
