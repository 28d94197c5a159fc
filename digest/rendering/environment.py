"""The Jinja environment for emails: autoescaping for HTML, none for text."""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from digest.domain.text import counted


def templates_dir() -> Path:
    """The templates: inside the installed package, else beside the source tree."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=8192)
def local_time(moment: datetime, zone: str) -> str:
    """``Tue 24 Nov, 07:05`` in the reader's time zone (the same few slots and zones
    come back for every reader, so answers are kept)."""
    local = moment.astimezone(ZoneInfo(zone))
    # The day without a leading zero; strftime's %-d is not portable.
    return f"{local:%a} {local.day} {local:%b, %H:%M}"


@cache
def get_environment() -> Environment:
    """The one Jinja environment for email templates: ``.html`` autoescaped,
    ``.txt`` not; an undefined name is an error rather than an empty string."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir() / "email")),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["local_time"] = local_time
    env.filters["counted"] = counted
    return env
