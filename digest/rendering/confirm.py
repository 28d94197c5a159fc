"""The confirmation email of double opt-in, in the same layout and branding as the
digests. One is sent per subscribe request, so it is inlined whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from babel.dates import get_day_names
from babel.units import format_unit
from markupsafe import Markup

from digest.config import Branding
from digest.domain.languages import DEFAULT_LANGUAGE, direction
from digest.rendering.environment import get_environment
from digest.rendering.i18n import locale_of, translate
from digest.rendering.inline import inline_css
from digest.rendering.render import PREHEADER_PADDING, greeting, stylesheet
from digest.rendering.text import one_line


@dataclass(frozen=True)
class TopicChoice:
    name: str
    frequency: str  # daily | weekly


@dataclass(frozen=True)
class Confirmation:
    subject: str
    text: str
    html: str


def duration(span: timedelta, language: str = DEFAULT_LANGUAGE) -> str:
    """``2 days``, ``36 hours``, ``45 minutes``: how long a link works, in words of
    ``language`` (``2 días``, ``36 Stunden``)."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0 or unit == "minute":
            count = max(1, seconds // size)
            return format_unit(count, f"duration-{unit}", length="long", locale=locale_of(language))
    raise AssertionError("unreachable")


def weekday_name(weekday: int, language: str) -> str:
    """``Monday`` for 0, in ``language``, as a sentence uses it."""
    return str(get_day_names("wide", locale=locale_of(language))[weekday])


def render_confirmation(
    brand: Branding,
    *,
    email: str,
    name: str | None,
    confirm_url: str,
    topics: list[TopicChoice],
    hour: int,
    timezone: str,
    weekday: int,
    expires_in: timedelta,
    language: str = DEFAULT_LANGUAGE,
) -> Confirmation:
    """Subject, text and inlined HTML of the email asking ``email`` to confirm, in
    ``language``; ``weekday`` is 0 for Monday."""
    env = get_environment(language)
    site = brand.site_name
    context = {
        "brand": brand,
        "site_name": site,
        "email": email,
        "greeting": greeting(one_line(name) if name else None, language),
        "confirm_url": confirm_url,
        "topics": topics,
        "any_weekly": any(t.frequency == "weekly" for t in topics),
        "time": f"{hour:02d}:00",
        "timezone": timezone,
        "weekday": weekday_name(weekday, language),
        "expires_in": duration(expires_in, language),
        "preheader": translate(language, "Confirm your subscription to %(site)s", site=site),
        "preheader_padding": Markup(PREHEADER_PADDING),
        "stylesheet": Markup(stylesheet(direction(language))),
    }
    html = inline_css(env.get_template("confirm/body.html").render(**context))
    text = env.get_template("confirm/body.txt").render(**context).strip() + "\n"
    subject = one_line(env.get_template("confirm/subject.txt").render(**context))
    return Confirmation(subject=subject, text=text, html=html)
