"""Reading submitted forms and the shared pieces of the choice forms."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from fastapi import Request
from sqlalchemy.orm import Session

from digest.config import Settings, secret_key
from digest.domain.languages import LANGUAGES
from digest.domain.schedule import WEEKDAYS
from digest.domain.zone_names import ALIASES, CANONICAL, canonical_zone
from digest.rendering.i18n import N_, translate, weekday_names, zone_place
from digest.services.readers.choices import Choices, Fields, first
from digest.services.readers.topics import list_topics
from digest.web import csrf
from digest.web.pages import settings_of

if TYPE_CHECKING:
    from digest.db.models import Subscriber


async def form_fields(request: Request) -> Fields:
    """Every value of every field of the submitted form (files are ignored)."""
    form = await request.form()
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


def csrf_ok(request: Request, fields: Fields) -> bool:
    return csrf.valid(request, secret_key(settings_of(request)), first(fields, csrf.FIELD))


def client_ip(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers (on by default for trusted
    # forwarders) has already put the original client here.
    return request.client.host if request.client else "unknown"


# The regions of the zone list, for the catalogues.
REGIONS = {
    "Africa": N_("Africa"),
    "America": N_("America"),
    "Antarctica": N_("Antarctica"),
    "Arctic": N_("Arctic"),
    "Asia": N_("Asia"),
    "Atlantic": N_("Atlantic"),
    "Australia": N_("Australia"),
    "Europe": N_("Europe"),
    "Indian": N_("Indian Ocean"),
    "Pacific": N_("Pacific"),
}


@cache
def zone_groups(language: str = "en") -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The IANA zones people live in, by their current names (no old aliases such as
    ``Asia/Calcutta``, no ``Etc/*``), grouped by region for the zone list, each as
    (name, label): ``("America/Argentina/Buenos_Aires", "Buenos Aires, Argentina")``;
    in another language the places are named in it (``Bruxelles, Belgique``)."""
    known = available_timezones()
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in CANONICAL:
        if name in known:
            region, _, place = name.partition("/")
            label = zone_label(place) if language == "en" else zone_place(name, language)
            shown = translate(language, REGIONS.get(region, region))
            groups.setdefault(shown, []).append((name, label))
    return (
        ("", (("UTC", "UTC"),)),
        *(
            (region, tuple(sorted(names, key=lambda z: z[1])))
            for region, names in sorted(groups.items())
        ),
    )


def zone_label(place: str) -> str:
    """``Argentina/Buenos_Aires`` → ``Buenos Aires, Argentina``."""
    parts = [p.replace("_", " ") for p in place.split("/")]
    return ", ".join(reversed(parts))


@cache
def listed_zones() -> frozenset[str]:
    """The names the zone list offers."""
    return frozenset(name for _, names in zone_groups() for name, _ in names)


@cache
def zone_aliases() -> dict[str, str]:
    """Old zone names a browser may still report, with the listed name each means."""
    return dict(ALIASES)


def topic_options(session: Session) -> list[tuple[str, str]]:
    return [(t.slug, t.name) for t in list_topics(session)]


def form_values(
    choices: Choices | None, fields: Fields | None = None, language: str = "en"
) -> dict[str, object]:
    """What the choice form shows: a submitted form as it was sent, else ``choices``;
    ``language`` is the one to select when neither names one."""
    if fields is not None:
        picked = [t.strip().lower() for t in fields.get("topics", [])]
        return {
            "email": first(fields, "email"),
            "name": first(fields, "name"),
            "topics": {t: first(fields, f"frequency-{t}", "daily") for t in picked},
            "hour": first(fields, "hour", "7"),
            "timezone": canonical_zone(first(fields, "timezone", "UTC")),
            "weekday": first(fields, "weekday", "mon")[:3].lower(),
            "chosen_zone": bool(first(fields, "timezone")),
            "language": first(fields, "language", language),
        }
    return {
        "email": "",
        "name": (choices.name if choices else None) or "",
        "topics": dict(choices.topics) if choices else {},
        "hour": str(choices.hour) if choices else "7",
        "timezone": choices.timezone if choices else "UTC",
        "weekday": WEEKDAYS[choices.weekday] if choices else "mon",
        "chosen_zone": choices is not None,
        "language": (choices.language if choices else None) or language,
    }


def kept_default(choices: Choices, sub: Subscriber, settings: Settings) -> Choices:
    """``choices`` with the language left unset when the reader follows the site's
    language and the form only showed it: saving other choices does not pin them to
    today's default."""
    if sub.language is None and choices.language == settings.language:
        return replace(choices, language=None)
    return choices


def form_context(language: str = "en") -> dict[str, Any]:
    """The lists of the choice forms, in ``language``."""
    return {
        "zones": zone_groups(language),
        "zone_aliases": zone_aliases(),
        "listed_zones": listed_zones(),
        "weekdays": list(zip(WEEKDAYS, weekday_names(language), strict=True)),
        "hours": list(range(24)),
        "languages": list(LANGUAGES.items()),
    }
