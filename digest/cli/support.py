"""Pieces the ``digest`` commands share: settings, the schema check, ``--now``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from digest.config import ConfigError, Settings, get_settings
from digest.db.schema import ensure_schema


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


def explain_preview(result: Any) -> None:
    """``digest preview --explain``: the slot, each topic's articles with the reason
    each is in or out, then the checks of the message."""
    from digest.services.previewing import Preview, when

    assert isinstance(result, Preview)
    tz = result.timezone
    click.echo(f"slot: {when(result.slot_at, tz)} ({result.slot_at.isoformat()})")
    if result.blocked:
        click.echo(f"not sent: {result.blocked}")
    if result.email is None:
        click.echo("nothing new: no email at this slot")
    else:
        click.echo(f"subject: {result.email.subject}")
    for topic in result.topics:
        window = f"new since {when(topic.since, tz)}" if topic.since else "not due in this slot"
        click.echo(f"\n{topic.name} ({topic.frequency}, {window})")
        for a in topic.articles:
            rank = f"#{a.rank}" if a.rank else "-"
            click.echo(f"  {rank:>4}  {a.article_id:>7}  {a.title}\n{'':15}{a.reason}")
        if topic.more:
            click.echo(f"  and {topic.more} more left out, not listed")
    if result.checks:
        click.echo("\nchecks:")
    for check in result.checks:
        click.echo(f"  {check.level:<8} {check.summary}")
        for item in check.items:
            click.echo(f"{'':11}{item}")
        for finding in check.findings:
            clients = "; ".join(f"{c.client}: {c.support}" for c in finding.clients)
            click.echo(f"{'':11}{finding.matched} ({clients})")
