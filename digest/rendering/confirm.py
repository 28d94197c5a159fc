"""The confirmation email of double opt-in, in the same layout and branding as the
digests. One is sent per subscribe request, so it is inlined whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup

from digest.config import Branding
from digest.rendering.environment import get_environment
from digest.rendering.inline import inline_css
from digest.rendering.render import PREHEADER_PADDING, stylesheet
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


def duration(span: timedelta) -> str:
    """``2 days``, ``36 hours``, ``45 minutes``: how long a link works, in words."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0 or unit == "minute":
            count = max(1, seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    raise AssertionError("unreachable")


def render_confirmation(
    brand: Branding,
    *,
    email: str,
    name: str | None,
    confirm_url: str,
    topics: list[TopicChoice],
    hour: int,
    timezone: str,
    weekday: str,
    expires_in: timedelta,
) -> Confirmation:
    """Subject, text and inlined HTML of the email asking ``email`` to confirm."""
    env = get_environment()
    greeting = f"Hello {one_line(name)}," if name else "Hello,"
    context = {
        "brand": brand,
        "site_name": brand.site_name,
        "email": email,
        "greeting": greeting,
        "confirm_url": confirm_url,
        "topics": topics,
        "any_weekly": any(t.frequency == "weekly" for t in topics),
        "hour": hour,
        "timezone": timezone,
        "weekday": weekday,
        "expires_in": duration(expires_in),
        "preheader": f"Confirm your subscription to {brand.site_name}",
        "preheader_padding": Markup(PREHEADER_PADDING),
        "stylesheet": Markup(stylesheet()),
    }
    html = inline_css(env.get_template("confirm/body.html").render(**context))
    text = env.get_template("confirm/body.txt").render(**context).strip() + "\n"
    subject = one_line(env.get_template("confirm/subject.txt").render(**context))
    return Confirmation(subject=subject, text=text, html=html)
