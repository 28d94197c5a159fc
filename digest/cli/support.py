"""Pieces the ``digest`` commands share: settings, the schema check, ``--now``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from digest.config import ConfigError, Settings, get_settings
from digest.services.database import ensure_schema


def settings() -> Settings:
    """The settings, with a configuration error shown as a clean CLI error."""
    try:
        return get_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def database(current: Settings) -> str:
    """The database URL, after checking (or on SQLite, bringing) the schema up to date."""
    try:
        ensure_schema(current.database_url)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    return current.database_url


class Moment(click.ParamType):
    """An ISO 8601 time; a time without an offset is taken as UTC."""

    name = "ISO8601"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time such as 2026-03-01T07:00:00Z", param, ctx)
        try:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
            self.fail(f"{value!r} is out of range", param, ctx)


now_option = click.option(
    "--now",
    type=Moment(),
    default=None,
    help="Behave as if the clock read this time (ISO 8601; UTC when no offset).",
)


def clock_of(now: datetime | None) -> Callable[[], datetime]:
    """A clock: fixed at ``now`` when given, else the real one."""
    if now is None:
        return lambda: datetime.now(UTC)
    return lambda: now


def dump_json(data: Any) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    return json.dumps(data, default=default, indent=2)


def audited() -> None:
    """Record what this command changes in the audit log, as the system user's."""
    from digest.services.console.audit import command_line

    command_line()
