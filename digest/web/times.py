"""Times in the console, for people: in the admin's own time zone, as a relative and
an absolute pair ("in 2 h · 07:00 CET, Mon 7 Dec"), the full ISO time on hover.

The zone is the admin's setting (``admin_users.timezone``), else the one their
browser reported when they signed in (kept in the session cookie), else UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from digest.domain.zone_names import canonical_zone

_MAX_ZONE = 64


def known_zone(name: str | None) -> str | None:
    """``name`` as a current IANA zone name, or None when it is not one."""
    text = (name or "").strip()[:_MAX_ZONE]
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        return None
    text = canonical_zone(text)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return text


def relative(moment: datetime, now: datetime) -> str:
    """``just now``, ``5 min ago``, ``in 2 h``, ``3 d ago``: rounded down, plain."""
    delta = moment - now
    seconds = abs(delta.total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            return f"in {amount}" if delta > timedelta(0) else f"{amount} ago"
    raise AssertionError("unreachable")


def absolute(moment: datetime, zone: str, now: datetime) -> str:
    """``07:00 CET, Mon 7 Dec`` in ``zone``; the year too when it is not this year."""
    local = moment.astimezone(ZoneInfo(zone))
    day = f"{local:%a} {local.day} {local:%b}"
    if local.year != now.astimezone(ZoneInfo(zone)).year:
        day += f" {local.year}"
    return f"{local:%H:%M} {local:%Z}, {day}"


def moment_html(value: datetime | str | None, zone: str, now: datetime | None = None) -> Markup:
    """A ``<time>`` element for ``value`` (a datetime or an ISO string): the relative
    and absolute pair as text, the exact UTC time in ``datetime`` and on hover."""
    if value is None or value == "":
        return Markup("never")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return Markup(escape(value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    exact = value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    shown = f"{relative(value, now)} · {absolute(value, zone, now)}"
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(exact, shown)
